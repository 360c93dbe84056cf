"""The command-line reference: every command and option, read from the typer app through click.

typer 0.28 carries its own, smaller copy of click (`typer._click`: no Group or Argument
classes), so groups and arguments are told apart by what they have.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer._click import core as click

from tfhook.cli.app import app
from tfhook.docs import NOTE


def page() -> str:
    """docs/reference/cli.md: each command's usage, help and parameters, as `--help` has them."""
    root = typer.main.get_command(app)
    lines = ["# Command line", "", NOTE.format(source="the typer app (`tfhook/cli/`)"), ""]
    with click.Context(root, info_name="tfhook") as ctx:
        lines += _command(root, ctx)
    return "\n".join(lines).rstrip("\n") + "\n"


def _command(command: click.Command, ctx: click.Context) -> list[str]:
    lines = [f"## `{ctx.command_path}`", ""]
    text = inspect.cleandoc(command.help or "").replace("\b\n", "")
    if text:
        lines += [text, ""]
    pieces = command.collect_usage_pieces(ctx)
    lines += ["```text", f"{ctx.command_path} {' '.join(pieces)}".rstrip(), "```", ""]
    lines += _parameters(command, ctx)
    group: Any = command
    if hasattr(group, "list_commands"):
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                with click.Context(sub, info_name=name, parent=ctx) as child:
                    lines += _command(sub, child)
    return lines


def _parameters(command: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            rows.append((f"`{param.human_readable_name}`", "argument"))
            continue
        record = param.get_help_record(ctx)
        if record is not None and not getattr(param, "hidden", False):
            rows.append((f"`{record[0]}`", _cell(record[1])))
    if not rows:
        return []
    table = ["| parameter | what |", "|---|---|"]
    table += [f"| {name.replace('|', '&#124;')} | {what} |" for name, what in rows]
    return [*table, ""]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
