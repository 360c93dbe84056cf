"""Phases, results and instructions by name: one parse and one name for each.

Flags, routes files, `send`, `routes explain` and messages spell them alike: `post-handle`,
`no-change`, `noop`. Hooks see the wire's spelling instead (`NO_CHANGE` in TFHOOK_RESULT,
`hook.name_of`), which is the helper's contract and stays as it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from tfhook.core.model import Phase
from tfhook.hook import Instruction, Result

Code = type[Result] | type[Instruction]
ANY_CODE_MAX = 2**31 - 1  # the wire's enums are int32: `send` may send any code up to this
PHASES = {phase.value: phase for phase in Phase}


def parse_phase(text: object) -> Phase | None:
    """The phase `text` names (`pre-handle`, `handle`, `post-handle`), or None."""
    return PHASES.get(text) if isinstance(text, str) else None


def phase_choices() -> str:
    return "one of " + ", ".join(PHASES)


def code_name(codes: Code, value: int) -> str:
    """`updated` for 2 as a result, `no-change` for 4; the number itself when undeclared."""
    try:
        return codes(value).name.lower().replace("_", "-")
    except ValueError:
        return str(value)


def _names(codes: Code) -> dict[str, int]:
    # Declared order, but UNKNOWN (0) last: it is the value least often meant.
    members = sorted(codes, key=lambda code: (int(code) == 0, int(code)))
    return {code_name(codes, int(code)): int(code) for code in members}


def parse_code(codes: Code, item: object, *, any_number: bool = False) -> int | None:
    """The code `item` names: a name in either spelling (`no-change`, `NO_CHANGE`) or a
    number (a declared one, or with `any_number` any up to ANY_CODE_MAX: `send` may send what
    no enum has)."""
    if isinstance(item, bool):
        return None
    if isinstance(item, str) and item.strip().isdigit():
        item = int(item.strip())
    if isinstance(item, int):
        declared = item in set(_names(codes).values())
        return item if declared or (any_number and item <= ANY_CODE_MAX) else None
    if not isinstance(item, str):
        return None
    return _names(codes).get(item.strip().lower().replace("_", "-"))


def code_choices(codes: Code, *, any_number: bool = False) -> str:
    """`one of created, updated, deleted, no-change, unknown (or 0-4)`; with `any_number`,
    what parse_code then takes: `(or a number from 0 to 2147483647)`."""
    numbers = sorted(_names(codes).values())
    top = ANY_CODE_MAX if any_number else numbers[-1]
    between = f"a number from {numbers[0]} to {top}" if any_number else f"{numbers[0]}-{top}"
    return f"one of {', '.join(_names(codes))} (or {between})"


def one_of(values: Iterable[str]) -> str:
    """`x` for one value, `one of x, y` for several."""
    listed = list(values)
    return listed[0] if len(listed) == 1 else "one of " + ", ".join(listed)


__all__ = ["Instruction", "Result", "code_choices", "code_name", "one_of", "parse_code",
           "parse_phase", "phase_choices"]
