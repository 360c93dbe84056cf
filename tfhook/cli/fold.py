"""`--help` at 80 columns: a long default folds onto the next line instead of being cut with `…`.

typer builds each option's help cell in `typer.rich_utils._get_parameter_help`, a private
function (typer has no setting for this), as rich `Text` items with no overflow of their own,
so the options table's `ellipsis` applies: at 80 columns `[default:
unix:autoscaler-handlers-local-exec.sock]` lost its end. `install` wraps that one function and
gives each item `overflow="fold"`. tests/cli/test_help_width.py fails if typer renames the
function or stops returning rich Text items, and checks every default at 80 columns.
"""

from __future__ import annotations

from typing import Any

from rich.columns import Columns
from rich.text import Text


def _folding(original: Any) -> Any:
    def parameter_help(**kwargs: Any) -> Columns:
        cell: Columns = original(**kwargs)
        for item in cell.renderables:
            if isinstance(item, Text):
                item.overflow = "fold"
        return cell

    return parameter_help


def install() -> None:
    """Make typer's rich help fold long values (once; called before help is rendered, so a
    command that prints no help never imports rich)."""
    from typer import rich_utils

    original = getattr(rich_utils, "_get_parameter_help", None)
    if original is not None and original.__module__ != __name__:  # not installed yet
        rich_utils._get_parameter_help = _folding(original)
