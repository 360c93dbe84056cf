"""The cloud ids events carry, put to use: the state resources a targeted refresh reads, and
the objects whose removal DELETED events explain."""

from __future__ import annotations

from collections.abc import Sequence

from tfhook.core.model import Event, Result
from tfhook.terraform import state

# Terraform's warnings on every targeted run; the DONE summary has its own caveat note.
TARGETING_WARNINGS = frozenset({"Resource targeting is in effect",
                                "Applied changes may be incomplete"})


def targets(events: Sequence[Event], before: state.State | None) -> tuple[list[str], str]:
    """The addresses to refresh with -target (none: everything), and a note for the summary."""
    # Both ids choose what to read: a server's event may be the news about its ELB.
    ids = sorted({i for event in events for i in event.resource_ids.values()})
    found = state.addresses_with_ids(before, ids)
    if not found:
        return [], f"no state resource has id {', '.join(ids) or '(none)'}: full refresh"
    return found, (f"targeted refresh of {', '.join(found)}; outputs may not be fully "
                   "updated by a targeted refresh (Terraform's -target caveat): the next "
                   "full refresh brings them up to date")


def deleted_ids(events: Sequence[Event]) -> frozenset[str]:
    """The ids whose removal from the state the events explain: a DELETED event's resource's
    own id, never its parent's (a server's ELB is not gone because the server is)."""
    return frozenset(event.resource_ids.own for event in events
                     if event.result == Result.DELETED and event.resource_ids.own)
