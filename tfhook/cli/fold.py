"""`--help` at 80 columns: a long default folds onto the next line instead of being cut with `…`.

typer builds each option's help cell in `typer.rich_utils._get_parameter_help`, a private
function (typer has no setting for this), as rich `Text` items with no overflow of their own,
so the options table's `ellipsis` applies: at 80 columns `[default:
unix:autoscaler-handlers-local-exec.sock]` lost its end. `install` wraps that one function and
gives each item `overflow="fold"`; a default is broken by words, and a value too long for
the column only after `-`, `.`, `:` or `/` (`_Default`). tests/cli/test_help.py fails if typer renames the
function or stops returning rich Text items, and checks every default at 80 columns.
"""

from __future__ import annotations

import re
from typing import Any

from rich.columns import Columns
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

_BREAK = re.compile(r"(?<=[-.:/])")  # a default too long for its column breaks after these


class _Default:
    """`[default: VALUE]`, broken by words (the value whole when it fits the column), else
    only after `-`, `.`, `:` or `/`, the closing bracket never alone on a line."""

    def __init__(self, item: Text) -> None:
        self.item = item

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, min(len(self.item.plain), options.max_width))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = _lines(self.item.plain, options.max_width)
        yield Text("\n".join(lines), style=self.item.style, overflow="fold")


def _lines(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        elif len(word) <= width:
            lines.append(word)
        else:
            lines.extend(_pieces(word, width))
    return lines


def _pieces(word: str, width: int) -> list[str]:
    """`word` in lines of at most `width`, broken after `-`, `.`, `:` or `/` (folded hard
    only where a run has none); the last piece keeps its bracket."""
    lines = [""]
    for part in _BREAK.split(word):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    if len(lines) > 1 and lines[-1] == "]":
        lines[-2:] = [lines[-2][:-1], lines[-2][-1] + "]"]
    return lines


def _folding(original: Any) -> Any:
    def parameter_help(**kwargs: Any) -> Columns:
        cell: Columns = original(**kwargs)
        for n, item in enumerate(cell.renderables):
            if isinstance(item, Text):
                item.overflow = "fold"
                if item.plain.startswith("[default: "):
                    cell.renderables[n] = _Default(item)
        return cell

    return parameter_help


def install() -> None:
    """Make typer's rich help fold long values (once; called before help is rendered, so a
    command that prints no help never imports rich)."""
    from typer import rich_utils

    original = getattr(rich_utils, "_get_parameter_help", None)
    if original is not None and original.__module__ != __name__:  # not installed yet
        rich_utils._get_parameter_help = _folding(original)
