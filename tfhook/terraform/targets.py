"""Targeted refresh: the state resources an event's cloud ids name."""

from __future__ import annotations

from collections.abc import Sequence

from tfhook.model import Event
from tfhook.terraform import state

# Terraform's warnings on every targeted run; the DONE summary has its own caveat note.
TARGETING_WARNINGS = frozenset({"Resource targeting is in effect",
                                "Applied changes may be incomplete"})


def targets(events: Sequence[Event], before: state.State | None) -> tuple[list[str], str]:
    """The addresses to refresh with -target (none: everything), and a note for the summary."""
    ids = sorted({i for event in events for i in event.resource_ids})
    found = state.addresses_with_ids(before, ids)
    if not found:
        return [], f"no state resource has id {', '.join(ids) or '(none)'}: full refresh"
    return found, (f"targeted refresh of {', '.join(found)}; outputs may not be fully "
                   "updated by a targeted refresh (Terraform's -target caveat): the next "
                   "full refresh brings them up to date")
