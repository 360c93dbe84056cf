"""`tfhook notify test`: send a sample notification to the URLs a server would use (#23)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfhook.cli import helptext
from tfhook.cli.exits import guard
from tfhook.config import settings as config

notify_app = typer.Typer(no_args_is_help=True, cls=helptext.Group,
                         help="Notifications: send a test one to the configured URLs.")


@notify_app.command("test", cls=helptext.Command)
def notify_test(
    routes: Annotated[Path | None, typer.Option(
        "--routes", metavar="FILE", help="A routes file: its routes' notify URLs.")] = None,
    urls_file: Annotated[Path | None, typer.Option(
        "--notify-file", metavar="FILE",
        help="A file of URLs, one a line (as serve takes it).")] = None,
) -> None:
    """Send a sample to each URL (TFHOOK_NOTIFY_URLS's too); URLs are shown masked (exit 0
    when every URL took it, 1 when one did not, 2 on bad input or without apprise)."""
    from tfhook.cli.routes import hooks_of
    from tfhook.ops import notify

    targets = guard(lambda: notify.urls(() if routes is None else hooks_of(routes), urls_file,
                                        config.environment()))
    results = guard(lambda: notify.send_sample(targets))
    for shown, sent in results:
        typer.echo(f"{shown}: {'sent' if sent else 'FAILED (not taken, or no answer)'}")
    if not all(sent for _, sent in results):
        raise typer.Exit(1)
