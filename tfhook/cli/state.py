"""`tfhook state snapshots|rollback`: the states saved before each apply, and putting one back.

Exit codes: 0 done; 1 refused (no such snapshot, another lineage, a push Terraform refused);
2 nothing answers or bad input.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from tfhook.cli import helptext
from tfhook.cli.exits import decided, guard
from tfhook.cli.operate import StateDir, state_home
from tfhook.config import settings as config
from tfhook.errors import UserError

state_app = typer.Typer(help="Terraform states tfhook saved before each apply, and rollbacks.",
                        add_completion=False, cls=helptext.Group)


@state_app.command("snapshots", cls=helptext.Command)
def snapshots(
    directory: Annotated[Path, typer.Argument(help="The Terraform directory.")],
    root: StateDir = None,
) -> None:
    """List the snapshots of a directory by run (the state each run replaced), oldest first."""
    from tfhook.ops import states

    typer.echo(guard(lambda: states.listing(state_home(root), directory)),
               nl=False)


@state_app.command("rollback", cls=helptext.Command)
def rollback(
    run: Annotated[str, typer.Argument(help="The run whose snapshot to put back (run-3).")],
    root: StateDir = None,
    addr: Annotated[str | None, typer.Option(
        help="The server that serves the directory (its unix socket): it rolls back under "
        "the directory's single flight. Without it, this process does.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Push the snapshot back (without it: only "
                                      "show what that would change).")] = False,
    timeout: Annotated[str, typer.Option(
        help="With --addr: how long to wait for the server to answer the connection.")] = "5s",
) -> None:
    """Show what putting back the state saved before a run changes; --yes pushes it back.

    Same lineage only, with a serial above the current one; the rollback is a run of its
    own, with a snapshot, so it can be undone.
    """
    from tfhook.observe import logs
    from tfhook.ops import states

    logs.configure("logfmt", "warn")  # stdout is the result; warnings go to stderr

    def rolled() -> str:
        number = _run(run)
        if addr is not None:
            return states.through(addr, state_home(root), number, apply=yes,
                                  timeout=config.positive_duration(timeout, name="--timeout"))
        return states.rollback(state_home(root), number, apply=yes,
                               env=config.environment(), user=getpass.getuser())

    text = decided(rolled)
    typer.echo(text if yes else f"{text}\n(nothing was pushed: --yes pushes it back)")


def _run(text: str) -> int:
    number = text.removeprefix("run-")
    if not number.isdigit():
        raise UserError(f"{text!r}: expected a run id (run-3)")
    return int(number)
