"""Routing: which hooks an event runs. Pure functions of the event and the hooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

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
    """The first match key that rules the event out, in words; None when it matches.

    The keys are Match's fields, walked in their order; each is the Event's field of the
    same name: a set of allowed values, or a tuple of shell globs."""
    for key in _KEYS:
        allowed, value = getattr(match, key), getattr(event, key)
        if not allowed:
            continue
        if isinstance(allowed, tuple):
            if not _globbed(value, allowed):
                return f"{key} {value!r} matches none of {', '.join(allowed)}"
        elif value not in allowed:
            shown = _SHOWN.get(key, _as_text)
            return f"{key} {shown(value)} is not {_names(map(shown, _ordered(allowed)))}"
    return None


code_name = names.code_name  # routes explain and tests name codes through here
_KEYS = tuple(field.name for field in dataclasses.fields(Match))


def _as_text(value: object) -> str:
    return str(value) or "(none)"


def _ordered(allowed: frozenset[Any]) -> list[Any]:
    return sorted(allowed, key=lambda v: list(Phase).index(v) if isinstance(v, Phase) else v)


# How a miss shows a value of a match key whose values are codes or a Phase.
_SHOWN: dict[str, Callable[[Any], str]] = {
    "phase": lambda phase: phase.value,
    "result": lambda code: code_name(Result, code),
    "instruction": lambda code: code_name(Instruction, code),
}


def _globbed(text: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(text, pattern) for pattern in patterns)


def _names(values: Iterable[str]) -> str:
    listed = list(values)
    return listed[0] if len(listed) == 1 else "one of " + ", ".join(listed)
