"""Logging set-up (structlog, logfmt or JSON) and the observer that logs calls and runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import TextIO, cast

import structlog

from tfhook import controls
from tfhook.core.model import Action, Event, Phase, Update, describe
from tfhook.core.observer import Call, CallEnd, Decision, Observer, Run
from tfhook.hook import Instruction, Result, code_of, name_of
from tfhook.observe import redact

LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG}
DEBUG, INFO = logging.DEBUG, logging.INFO
FORMATS = ("logfmt", "json")
ERROR_LOG_MAX = 4000  # characters of a failure's reason in its log line
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
    if isinstance(value, str):  # (newlines: both renderers escape them)
        return controls.escape(value, newlines=False)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {_escaped(key): _escaped(item) for key, item in value.items()}
    return _escaped(str(value))  # what the renderer would show, made safe


class Library(logging.Handler):
    """A library's log records (OpenTelemetry's exporter) as tfhook lines, in the configured
    format: the first of a failure streak only, until `ended` says the streak is over."""

    def __init__(self, logger: str, event: str) -> None:
        super().__init__(logging.WARNING)
        self._log = structlog.get_logger(logger)
        self._event = event
        self._told = False

    def emit(self, record: logging.LogRecord) -> None:
        if self._told:
            return
        self._told = True
        lines = record.getMessage().strip().splitlines()
        self._log.warning(self._event, problem=lines[0] if lines else record.levelname,
                          source=record.name, then="said once until it works again")

    def ended(self) -> None:
        """The library works again: its next failure is told."""
        self._told = False

    def take(self, name: str) -> None:
        """Route logger `name` (and its children) here, and only here."""
        library = logging.getLogger(name)
        library.handlers[:] = [self]
        library.propagate = False


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


class LogSink(Observer):
    """One line per call (`call finished`, `call failed`) and per run (`run done`, `run
    failed`); at debug, each route's start and updates. Only Event.describe() fields and
    scrubbed reasons: no request body."""

    def __init__(self) -> None:
        # Bound once: a lazy proxy would bind a new logger on every line.
        self._log = structlog.get_logger("tfhook.calls").bind()
        self._runs = structlog.get_logger("tfhook.runs").bind()

    def route_start(self, action: Action) -> None:
        if not isinstance(action.trigger, Event):
            if enabled(INFO):
                self._log.info("background run started", hook=action.hook,
                               **describe(action.trigger))
        elif not enabled(DEBUG):
            return
        elif action.hook is None:
            self._log.debug("call skipped", reason=action.reason, **describe(action.trigger))
        else:
            self._log.debug("call started", hook=action.hook, **describe(action.trigger))

    def route_update(self, action: Action, update: Update) -> None:
        if enabled(DEBUG):
            self._log.debug("update", status=update.status.name, **describe(action.trigger))

    async def call_end(self, call: Call, end: CallEnd) -> None:
        reason = end.reason
        if reason is not None:
            if call.secrets is None:
                call.secrets = await _secrets(call.event)
            reason = redact.scrub(reason, call.secrets)
        fields = _call_fields(call, end)
        if reason is not None:
            self._log.error("call failed", error=reason[-ERROR_LOG_MAX:], **fields)
        elif end.final is not None and end.final.warned:
            self._log.warning("call finished", status=end.final.status.name, **fields)
        else:
            self._log.info("call finished",
                           status=end.final.status.name if end.final else "EMPTY", **fields)

    def run_end(self, run: Run) -> None:
        fields: dict[str, object] = {
            "route": run.route, "dir": run.directory, "triggers": ",".join(run.triggers),
            "events": run.events, "duration": round(run.duration, 3),
        }
        if run.id is not None:
            fields["run"] = run.id
        if run.outcome in ("held", "already-held"):  # a plan waits for an operator (#21)
            self._runs.warning("run held", outcome=run.outcome, drifted="; ".join(run.drifted),
                               error=run.error, **fields)
        elif run.outcome != "done":
            self._runs.error("run failed", outcome=run.outcome, error=run.error, **fields)
        elif enabled(INFO):
            self._runs.info("run done", refreshed=len(run.refreshed),
                            drifted="; ".join(run.drifted), unexplained=run.unexplained,
                            outputs_changed="; ".join(run.outputs_changed), **fields)

    def decided(self, decision: Decision) -> None:
        """`decision` at info when done, at warning when refused or failed (who and why)."""
        line = self._runs.info if decision.outcome == "done" else self._runs.warning
        line("decision", action=decision.action, run=decision.run, user=decision.user,
             outcome=decision.outcome, dir=decision.directory or "-", route=decision.route or "-",
             message=decision.message[-ERROR_LOG_MAX:])


    def run_changed(self, run: Run) -> None:
        self._runs.info("held run decided", run=run.id, route=run.route, dir=run.directory,
                        outcome=run.outcome, why=run.error)


def _call_fields(call: Call, end: CallEnd) -> dict[str, object]:
    event = call.event
    post = event.phase is Phase.POST_HANDLE
    safe = event.describe()  # long names cut short
    return {
        "routes": ",".join(call.routes) or "-", "phase": event.phase.value,
        "resource": " ".join(str(p) for p in (safe["type"], safe["resource"]) if p) or "-",
        "job": safe["job"],
        ("result" if post else "instruction"): name_of(
            code_of(Result, event.result) if post else code_of(Instruction, event.instruction)),
        "decision": end.decision if end.run_id is None else f"{end.decision} (run {end.run_id})",
        "outcome": end.outcome, "duration": round(end.duration, 3),
    }


async def _secrets(event: Event) -> list[str]:
    data = await event.request_json.get_async()
    return await asyncio.to_thread(redact.request_secrets, data)
