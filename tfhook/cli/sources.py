"""Where `tfhook history` reads: the SQLite file of a state directory, or a fleet's
PostgreSQL history (#24)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from tfhook.config import settings as config
from tfhook.config.env import HISTORY_PASSWORD

HistoryUrl = Annotated[str | None, typer.Option(
    "--history-url", metavar="URL",
    help="Read the fleet's history in PostgreSQL (as serve's; default $TFHOOK_HISTORY_URL) "
    "instead of a state directory's.")]
Instance = Annotated[str | None, typer.Option(
    metavar="HOST[:PID]", help="Only rows this server wrote (a fleet's history).")]


@contextlib.contextmanager
def reading(directory: Path, url: str | None) -> Iterator[Any]:
    """The history open for the block: PostgreSQL when a URL is given (or in the
    environment), else the SQLite file in `directory`."""
    from tfhook.history import query

    url = url or config.environment().get(config.HISTORY_ENV) or None
    if url is not None:
        from tfhook.history import dsn, pgquery

        password = config.environment().get(HISTORY_PASSWORD)
        with pgquery.reading(dsn.with_password(url, password)) as conn:
            yield conn
        return
    with query.reading(directory) as conn:
        yield conn
