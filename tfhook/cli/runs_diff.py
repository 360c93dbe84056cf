"""`tfhook runs diff run-N`: the change a run suggested for a constant the autoscaler
outgrew (#22), as a unified diff `git apply` takes in the Terraform directory."""

from __future__ import annotations

from typing import Annotated

import typer

from tfhook.cli import helptext
from tfhook.cli.exits import guard
from tfhook.cli.operate import StateDir, state_home


def register(runs_app: typer.Typer) -> None:
    """Add `diff` to the `runs` group (cli/runs.py)."""
    runs_app.command("diff", cls=helptext.Command)(diff)


def diff(
    run: Annotated[str, typer.Argument(help="The run id (run-3), as the DONE names it.")],
    root: StateDir = None,
) -> None:
    """Print the change a run suggested (apply it with `git apply` in the Terraform directory)."""
    from tfhook.terraform import suggest

    text = guard(lambda: suggest.read(state_home(root), run))
    typer.echo(text, nl=False)
