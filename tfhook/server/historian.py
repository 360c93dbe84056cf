"""Which history a server writes: SQLite in its state directory, or PostgreSQL (#24)."""

from __future__ import annotations

from tfhook.config.settings import Settings
from tfhook.errors import UserError
from tfhook.history import History, Recorder


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
        return FleetHistory(settings.history_url, keep=settings.history_keep,
                            requests=settings.history_requests)
    if settings.history_dir is None:
        return None
    return History(settings.history_dir, keep=settings.history_keep,
                   requests=settings.history_requests)
