"""Which history a server writes: SQLite in its state directory, or PostgreSQL (#24)."""

from __future__ import annotations

import structlog

from tfhook.config.env import HISTORY_PASSWORD, HISTORY_URL
from tfhook.config.settings import Settings
from tfhook.errors import UserError
from tfhook.history import History, Recorder, dsn


def open_history(settings: Settings) -> Recorder | None:
    """The server's history; None when none is kept (--history-keep 0, or no directory).

    With --history-url, psycopg (the extra `tfhook[postgres]`) is imported here, and only then.
    """
    if settings.history_keep <= 0:
        return None
    if settings.history_url is not None:
        try:
            from tfhook.history.fleet import FleetHistory
        except ImportError as exc:
            raise UserError(f"--history-url needs the PostgreSQL driver ({exc.name} is missing): "
                            "pip install 'tfhook[postgres]'") from None
        _warn_of_argv(settings)
        return FleetHistory(settings.history_url, keep=settings.history_keep,
                            requests=settings.history_requests)
    if settings.history_dir is None:
        return None
    return History(settings.history_dir, keep=settings.history_keep,
                   requests=settings.history_requests)


def _warn_of_argv(settings: Settings) -> None:
    """One line when --history-url holds its password: every local user reads it in ps."""
    url = settings.history_url or ""
    secret = dsn.password(url)
    if secret and secret != settings.env.get(HISTORY_PASSWORD) \
            and secret != dsn.password(settings.env.get(HISTORY_URL) or ""):
        structlog.get_logger("tfhook.history").warning(
            "history password on the command line", url=dsn.mask(url),
            then="every local user sees it in ps: give it in TFHOOK_HISTORY_PASSWORD or a "
                 "password file (PGPASSFILE) instead")
