"""Logging set-up (structlog, logfmt or JSON) and the sink that logs every call."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import TextIO, cast

import structlog

from tfhook.model import Action, Outcome, Update

LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG}
DEBUG, INFO = logging.DEBUG, logging.INFO
FORMATS = ("logfmt", "json")
# The configured level; until configure() runs everything is shown (structlog's default).
_level = logging.NOTSET


def enabled(level: int) -> bool:
    """Whether a line at `level` is shown: callers skip building fields nobody will see."""
    return level >= _level


def configure(log_format: str, level: str) -> None:
    """Send structured logs to stderr in the chosen format, at the chosen level."""
    global _level
    _level = LEVELS[level]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.processors.LogfmtRenderer(key_order=["time", "level", "event"])
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            _flag_names,
            structlog.processors.TimeStamper(fmt="iso", key="time"),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(cast(TextIO, _Stderr())),
        cache_logger_on_first_use=False,
    )


def _flag_names(logger: object, method: str, event: structlog.typing.EventDict
                ) -> structlog.typing.EventDict:
    """Name levels as --log-level does: `warn`, not `warning`."""
    if event.get("level") == "warning":
        event["level"] = "warn"
    return event


class _Stderr:
    """stderr that never raises: a closed log pipe (`tfhook serve | head`, a restarted log
    shipper) must not fail calls or stop signals from working; the lines are lost instead."""

    def write(self, text: str) -> int:
        try:
            return sys.stderr.write(text)
        except (OSError, ValueError):
            return 0

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()


class LogSink:
    """Logs each call's start (debug: the observer's `call finished` line says it all at info)
    and each background run. Only Event.describe() fields: no request body."""

    def __init__(self) -> None:
        # Bound once: a lazy proxy would bind a new logger on every line.
        self._log = structlog.get_logger("tfhook.calls").bind()

    def started(self, action: Action) -> None:
        if action.event.background:
            if enabled(INFO):
                self._log.info("background run started", hook=action.hook,
                               **action.event.describe())
        elif not enabled(DEBUG):
            return
        elif action.hook is None:
            self._log.debug("call skipped", reason=action.reason, **action.event.describe())
        else:
            self._log.debug("call started", hook=action.hook, **action.event.describe())

    def update(self, action: Action, update: Update) -> None:
        if enabled(DEBUG):
            self._log.debug("update", status=update.status.name, **action.event.describe())

    def finished(self, outcome: Outcome) -> None:
        # A call's outcome is one line from the observer (observe.py); a background run's
        # result is logged here: Terraform's summary, no request, nothing secret.
        if not outcome.event.background:
            return
        fields = {**outcome.event.describe(), "hook": outcome.action.hook,
                  "duration": round(outcome.duration, 3)}
        if outcome.error is not None:
            self._log.error("background run failed", error=outcome.error, **fields)
        elif enabled(INFO):
            self._log.info("background run done", result=outcome.log, **fields)
