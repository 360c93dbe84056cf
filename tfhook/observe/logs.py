"""Logging set-up (structlog, logfmt or JSON) and the sink that logs every call."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from typing import TextIO, cast

import structlog

from tfhook.core.model import Action, Outcome, Update

LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG}
DEBUG, INFO = logging.DEBUG, logging.INFO
FORMATS = ("logfmt", "json")
# The configured level; until configure() runs everything is shown (structlog's default).
_level = logging.NOTSET
# Control characters (C0 but newline, which both renderers escape; DEL; C1) and the Unicode
# line separators: a request's value must not colour a terminal or forge a log line.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


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
            _escape_controls,
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


def _escape_controls(logger: object, method: str, event: structlog.typing.EventDict
                     ) -> structlog.typing.EventDict:
    """Write every control character of every field as `\\xNN` (`\\uNNNN` beyond 0xff)."""
    return {key: _escaped(value) for key, value in event.items()}


def _escaped(value: object) -> object:
    if isinstance(value, str):
        return _CONTROLS.sub(_escape, value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {_escaped(key): _escaped(item) for key, item in value.items()}
    return _escaped(str(value))  # what the renderer would show, made safe


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


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
