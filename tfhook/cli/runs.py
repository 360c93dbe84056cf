"""`tfhook runs held|approve|deny`: decide on a running server's held runs (#21).

The recorded runs are `tfhook history runs`; these commands talk to the server that holds
the plans, through its admin service (tfhook/ops/admin.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from tfhook.cli import helptext, runs_diff
from tfhook.cli.exits import decided
from tfhook.config import settings as config

Addr = Annotated[str, typer.Option(
    help="The server's unix socket: its --addr unix:PATH, or the admin socket it was given.")]
Run = Annotated[str, typer.Argument(help="The held run: run-12 (as `tfhook runs held` shows).")]
Timeout = Annotated[str, typer.Option(
    help="How long to wait for the server to answer the connection (not for the apply).")]
runs_app = typer.Typer(help="Runs: held ones on a running server listed, approved or denied (exit "
                       "0 done, 1 refused, 2 nothing answers or bad input); a run's suggested "
                       "change (diff).", add_completion=False, cls=helptext.Group,
                       no_args_is_help=True)
runs_diff.register(runs_app)


@runs_app.command("held", cls=helptext.Command)
def held(
    addr: Addr = config.DEFAULT_ADDR,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    timeout: Timeout = "5s",
) -> None:
    """List the held runs waiting for a decision, oldest first."""
    from tfhook.ops import admin

    found = decided(lambda: admin.held(addr, _seconds(timeout)))
    typer.echo(json.dumps([asdict(run) for run in found], indent=2) + "\n" if as_json
               else admin.table(found), nl=False)


@runs_app.command("approve", cls=helptext.Command)
def approve(run: Run, addr: Addr = config.DEFAULT_ADDR, timeout: Timeout = "5s") -> None:
    """Apply exactly the held plan of RUN (re-planned first if the state moved since)."""
    from tfhook.ops import admin

    typer.echo(decided(lambda: admin.approve(addr, admin.run_id(run), _seconds(timeout))))


@runs_app.command("deny", cls=helptext.Command)
def deny(run: Run, addr: Addr = config.DEFAULT_ADDR, timeout: Timeout = "5s") -> None:
    """Discard the held plan of RUN."""
    from tfhook.ops import admin

    typer.echo(decided(lambda: admin.deny(addr, admin.run_id(run), _seconds(timeout))))


def _seconds(timeout: str) -> float:
    return config.positive_duration(timeout, name="--timeout")
