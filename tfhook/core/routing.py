"""Routing: which hooks an event runs. Pure functions of the event and the hooks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from tfhook.core import names
from tfhook.core.hooks import Hook, Match
from tfhook.core.model import Action, Event, Phase, Result
from tfhook.hook import Instruction


def route(event: Event, hooks: Sequence[Hook], *, announce_unmatched: bool = True
          ) -> list[Action]:
    """The actions for an event: one per matching hook, in the hooks' order.

    Args:
        event: the decoded call (or a background run, which names its hook itself).
        hooks: the hooks, in file order.
        announce_unmatched: answer an event no hook takes with one IGNORED (else with an
            empty stream, as the reference handler answers the phases it does not handle).

    Returns:
        The actions; a single skip (hook None, with the reason) when no hook matches.
    """
    matched = [Action(event, hook.name) for hook in hooks if miss(event, hook.match) is None]
    if matched:
        return matched
    reasons = "; ".join(f"{hook.name}: {miss(event, hook.match)}" for hook in hooks)
    return [Action(event, None, f"{event.phase.rpc}: no route matches ({reasons})",
                   announce=announce_unmatched)]


def miss(event: Event, match: Match) -> str | None:
    """The first match key that rules the event out, in words; None when it matches."""
    if match.phase and event.phase not in match.phase:
        return f"phase {event.phase.value} is not {_names(p.value for p in Phase if p in match.phase)}"
    if match.resource_type and event.resource_type not in match.resource_type:
        return (f"resource_type {event.resource_type or '(none)'} is not "
                f"{_names(sorted(match.resource_type))}")
    if match.resource_name and not _globbed(event.resource_name, match.resource_name):
        return f"resource_name {event.resource_name!r} matches none of {', '.join(match.resource_name)}"
    if match.source and not _globbed(event.source, match.source):
        return f"source {event.source!r} matches none of {', '.join(match.source)}"
    if match.result and event.result not in match.result:
        return (f"result {code_name(Result, event.result)} is not "
                f"{_names(code_name(Result, r) for r in sorted(match.result))}")
    if match.instruction and event.instruction not in match.instruction:
        return (f"instruction {code_name(Instruction, event.instruction)} is not "
                f"{_names(code_name(Instruction, i) for i in sorted(match.instruction))}")
    return None


code_name = names.code_name  # routes explain and tests name codes through here


def _globbed(text: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(text, pattern) for pattern in patterns)


def _names(values: Iterable[str]) -> str:
    listed = list(values)
    return listed[0] if len(listed) == 1 else "one of " + ", ".join(listed)
