"""Control characters written out (`\\x1b`, `\\u2028`): what a request carries must not colour
a terminal, move its cursor or forge a line, in the logs or in `tfhook history`.

Part of the ground every layer may use: the logs (observe) and the history's tables (history)
are siblings that cannot share a module of their own.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_C0_AND_DEL = re.compile("[\x00-\x1f\x7f]")


def escape(text: str, *, newlines: bool = True) -> str:
    """`text` with each control character as `\\xNN` (`\\uNNNN` beyond 0xff).

    Args:
        text: any string.
        newlines: escape newlines too; False keeps them, for text laid out in lines.

    Returns:
        The text, printable on a terminal as it is.
    """
    pattern = _CONTROLS if newlines else _CONTROLS_BUT_NEWLINE
    return pattern.sub(_escape, text)


def escape_c0(text: str) -> str:
    """`text` with C0 controls and DEL as `\\xNN`, other characters as they are: what an
    environment value may carry (it cannot hold a NUL at all)."""
    return _C0_AND_DEL.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
