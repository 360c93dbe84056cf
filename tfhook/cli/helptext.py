"""How `--help` names option values and groups `serve`'s options: words, not Python types;
long values fold at the edge (see `fold`)."""

from __future__ import annotations

import copy
from typing import Any

from typer.core import TyperCommand, TyperGroup

# What each option's value is called in --help, for commands other than serve (serve's flags
# bring theirs from the option table). typer would show the Python type (<str>,
# <list[Path]>, and <bool> for flags): flags show nothing, the rest these words.
METAVARS = {
    "addr": "ADDR", "timeout": "DURATION",
    "directory": "DIR", "kind": "KIND", "name": "NAME", "tfhook_path": "PATH",
    "from_json": "FILE", "replay": "ID",
    "resource_id": "ID", "parent_id": "ID", "parent_type": "TYPE", "job_id": "ID", "job": "ID",
    "route": "NAME", "limit": "N", "since": "DURATION", "item": "ID", "file": "FILE",
}  # an option declared with its own metavar (a directory's DIR, a phase's PHASE) keeps it


def _label(param: Any, command: str | None) -> None:
    if param.param_type_name == "argument":
        # An argument's help has a type column besides its name, and no metavar for it:
        # typer shows what the type's get_metavar says, or `<type name>` when it says None.
        param.display_type_rich = lambda ctx: None
        param.type = copy.copy(param.type)
        param.type.get_metavar = lambda *args, **kwargs: ""
        _plain_usage(param)
    if getattr(param, "is_flag", False):
        param.metavar = ""
    elif param.metavar is None:
        param.metavar = METAVARS.get(param.name or "", (param.name or "VALUE").upper())


def _plain_usage(argument: Any) -> None:
    """`FILE` for a required argument and `[DIR]` for an optional one, as click and most
    tools write them (typer writes a required one `{FILE}`)."""
    word = METAVARS.get(argument.name or "", (argument.name or "VALUE").upper())
    argument.metavar = word
    argument.make_metavar = lambda ctx, *, usage=False: (
        f"[{word}]" if usage and not argument.required else word)


class Command(TyperCommand):
    """A typer command whose help names values by what they are (see METAVARS)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:
            _label(param, self.name)
        return params

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from tfhook.cli import fold  # rich, only for a command that prints its help

        fold.install()
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """The top-level command, labelled the same way."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:
            _label(param, None)
        return params

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from tfhook.cli import fold  # rich, only for a command that prints its help

        fold.install()
        super().format_help(ctx, formatter)
