"""What every call and every run tells the history, the metrics and the log.

One `Observer`, made by the server, passed to the pipeline (calls) and to the Terraform
directories (runs). A call's history row is written, and awaited, before anything runs for
it, so a crash leaves an `unfinished` row; everything else is handed to the history's
writer thread. Nothing here ever changes what the Core is answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from tfhook.core.model import Event, Phase, Update, outcome_name
from tfhook.hook import Instruction, Result, _code, name_of
from tfhook.observe import redact

if TYPE_CHECKING:
    from tfhook.history import History, Ref
    from tfhook.observe.metrics import MetricsSink

OUTPUT_MAX = 8 * 1024  # characters of a call's output kept in the history (its end)
ERROR_LOG_MAX = 4000  # characters of a failure's reason in its log line
# What asked for a run, as the metrics' `trigger` label names it.
TRIGGERS = {"refresh on start": "start", "reconcile": "reconcile", "retry after failure": "retry"}
log = structlog.get_logger("tfhook.calls")
run_log = structlog.get_logger("tfhook.runs")


@dataclass(eq=False)
class Call:
    """One call from the Core while it runs."""

    event: Event
    routes: tuple[str, ...]
    started: float = field(default_factory=time.monotonic)
    ref: Ref | None = None
    secrets: list[str] | None = None  # the request's secret values, once decoded
    coalesced: bool = False
    output: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, text: str) -> None:
        """Keep the end of the output (a long run streams for many minutes)."""
        self.output.append(text)
        self.size += len(text)
        while self.size > 2 * OUTPUT_MAX and len(self.output) > 1:
            self.size -= len(self.output.pop(0))


@dataclass(eq=False)
class Run:
    """One Terraform run: what asked for it, and, once ended, what it did."""

    route: str
    directory: str
    triggers: tuple[str, ...]
    started: float = field(default_factory=time.time)
    clock: float = field(default_factory=time.monotonic)
    id: int | None = None
    ref: Ref | None = None
    outcome: str = ""
    error: str | None = None
    lock_failed: bool = False
    refreshed: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    outputs_changed: tuple[str, ...] = ()

    @property
    def trigger(self) -> str:
        """The one trigger metrics name: `event` when any call asked, else the first."""
        return "event" if "event" in self.triggers else (self.triggers or ("event",))[0]


def trigger_kinds(triggers: Sequence[object]) -> tuple[str, ...]:
    """`event`, `start`, `reconcile`, `retry`: what asked for a run, each once, in order."""
    kinds = ["event" if isinstance(t, Event) else TRIGGERS.get(str(t), str(t)) for t in triggers]
    return tuple(dict.fromkeys(kinds))


class Observer:
    """Reports calls and runs to the history, the metrics and the log."""

    def __init__(self, history: History | None = None,
                 metrics: MetricsSink | None = None) -> None:
        self.history = history
        self.metrics = metrics

    # -- calls ---------------------------------------------------------------------

    async def call_started(self, event: Event, routes: tuple[str, ...]) -> Call:
        """Record a call before anything runs for it (awaited: the row is on disk)."""
        call = self.new_call(event, routes)
        await self.written(call)
        return call

    def new_call(self, event: Event, routes: tuple[str, ...]) -> Call:
        """A call, its row written now or handed to the writer (`written(call)` waits)."""
        call = Call(event, routes)
        self._count(lambda m: m.call_in_flight(event.phase.value, 1))
        if self.history is None:
            return call
        if self.history.requests:  # redacting a request can take a while: on the writer
            call.ref = self.history.begin_call(lambda: call_start(event, routes, keep=True))
        else:
            call.ref = self.history.start_call(call_start(event, routes, keep=False))
        return call

    async def written(self, call: Call | None = None) -> None:
        """Wait until every row handed over is on disk (or its failure counted); for a
        `call` whose row is written already, at once."""
        if self.history is not None and (call is None or call.ref is None
                                         or call.ref.id is None):
            await self.history.flush()

    @property
    def history_requests(self) -> bool:
        return self.history is not None and self.history.requests

    def call_update(self, call: Call, update: Update) -> None:
        if update.queued:
            call.coalesced = True  # queued behind a run in progress: it shares the next run
        if self.history is not None and update.log:
            call.add(f"{update.status.name}: {update.log}")

    async def call_finished(self, call: Call, final: Update | None,
                            error: BaseException | None, run_ids: list[int]) -> None:
        """Complete the call's row (handed over), count it and log its one line."""
        duration = time.monotonic() - call.started
        outcome = call_outcome(final, error)
        decision = "ignored" if not call.routes else "coalesced" if call.coalesced else "ran"
        run_id = run_ids[-1] if run_ids else None
        self._count(lambda m: m.call_in_flight(call.event.phase.value, -1))
        reason = None if error is None else _reason(error)
        if self.history is not None and call.ref is not None:
            self._end(call, decision, outcome, duration, reason, run_id)
        if reason is not None and call.secrets is None:
            call.secrets = await _secrets(call.event)
        _log_call(call, final, outcome, decision, duration, run_id,
                  None if reason is None else redact.scrub(reason, call.secrets or ()))

    def _end(self, call: Call, decision: str, outcome: str, duration: float,
             reason: str | None, run_id: int | None) -> None:
        from tfhook.history import CallEnd

        assert self.history is not None and call.ref is not None
        finished = time.time()

        def end() -> CallEnd:  # on the writer thread: decoding a large request takes a while
            secrets = call.secrets
            if secrets is None and (call.output or reason):
                secrets = call.secrets = redact.request_secrets(call.event.request_json.get())
            secrets = secrets or []
            output = redact.scrub("\n".join(call.output)[-2 * OUTPUT_MAX:], secrets)
            return CallEnd(finished=finished, decision=decision, outcome=outcome,
                           duration=duration, run_id=run_id,
                           error=None if reason is None else redact.scrub(reason, secrets),
                           output=output[-OUTPUT_MAX:])

        self.history.end_call(call.ref, end)

    # -- runs ----------------------------------------------------------------------

    async def run_started(self, route: str, directory: str, triggers: tuple[str, ...]) -> Run:
        """Record a run before it starts (awaited); its id is what served calls point to."""
        run = Run(route, directory, triggers)
        self._count(lambda m: m.run_in_flight(route, 1))
        if self.history is not None:
            from tfhook.history import RunStart

            run.ref = self.history.begin_run(RunStart(
                started=run.started, directory=directory, route=route, triggers=triggers))
        try:
            await self.written()
        except asyncio.CancelledError:  # stopped before it started: still a run that ended
            run.outcome, run.error = "cancelled", "the run was cancelled"
            self.run_finished(run, 0)
            raise
        run.id = None if run.ref is None else run.ref.id
        return run

    def run_finished(self, run: Run, events: int) -> None:
        """Complete the run's row, count it (with the `events` it served) and log it."""
        duration = time.monotonic() - run.clock
        self._count(lambda m: m.run_finished(run, duration, coalesced=max(events - 1, 0)))
        if self.history is not None and run.ref is not None:
            from tfhook.history import RunEnd

            self.history.end_run(run.ref, RunEnd(
                finished=time.time(), outcome=run.outcome, refreshed=run.refreshed,
                drifted=run.drifted, outputs_changed=run.outputs_changed, error=run.error))
        _log_run(run, duration, events)

    def retry_pending(self, route: str, pending: bool) -> None:
        self._count(lambda m: m.retry_pending(route, pending))

    def _count(self, change: Callable[[MetricsSink], None]) -> None:
        # A metric that cannot be set must not fail a call: logged only.
        if self.metrics is None:
            return
        try:
            change(self.metrics)
        except Exception:
            log.exception("metrics update failed")


def call_start(event: Event, routes: tuple[str, ...], *, keep: bool) -> Any:
    """The history row of a call as it starts (the request redacted, and only when kept)."""
    from tfhook.history import CallStart

    post = event.phase is Phase.POST_HANDLE
    return CallStart(
        time=event.received_at, phase=event.phase.value, source=event.source,
        resource_type=event.resource_type, resource_name=event.resource_name,
        scaling_job_id=event.scaling_job_id,
        result=name_of(_code(Result, event.result)) if post else "",
        instruction="" if post else name_of(_code(Instruction, event.instruction)),
        routes=routes,
        request=redact.redact_json(event.request_json.get()) if keep else None,
    )


def _reason(error: BaseException) -> str:
    """Why a call ended without its answer, in words (never a bare exception name)."""
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        # The server's stop says so in the cancel message; otherwise the caller went away.
        return str(error) or "cancelled: the client went away before the answer"
    return str(error) or type(error).__name__


def call_outcome(final: Update | None, error: BaseException | None) -> str:
    """done, ignored, empty, running, accepted; or failed, timeout, cancelled."""
    return outcome_name(None if final is None else final.status,
                        None if error is None else type(error).__name__)


async def _secrets(event: Event) -> list[str]:
    data = await event.request_json.get_async()
    return await asyncio.to_thread(redact.request_secrets, data)


def _log_call(call: Call, final: Update | None, outcome: str, decision: str, duration: float,
              run_id: int | None, reason: str | None) -> None:
    event = call.event
    post = event.phase is Phase.POST_HANDLE
    safe = event.describe()  # long names cut short
    fields: dict[str, object] = {
        "routes": ",".join(call.routes) or "-", "phase": event.phase.value,
        "resource": " ".join(str(p) for p in (safe["type"], safe["resource"]) if p) or "-",
        "job": safe["job"],
        ("result" if post else "instruction"): name_of(
            _code(Result, event.result) if post else _code(Instruction, event.instruction)),
        "decision": decision if run_id is None else f"{decision} (run {run_id})",
        "outcome": outcome, "duration": round(duration, 3),
    }
    if reason is not None:
        log.error("call failed", error=reason[-ERROR_LOG_MAX:], **fields)
    elif final is not None and final.warned:
        log.warning("call finished", status=final.status.name, **fields)
    else:
        log.info("call finished", status=final.status.name if final else "EMPTY", **fields)


def _log_run(run: Run, duration: float, events: int) -> None:
    fields: dict[str, object] = {
        "route": run.route, "dir": run.directory, "triggers": ",".join(run.triggers),
        "events": events, "duration": round(duration, 3),
    }
    if run.id is not None:
        fields["run"] = run.id
    if run.outcome != "done":
        run_log.error("run failed", outcome=run.outcome, error=run.error, **fields)
        return
    run_log.info("run done", refreshed=len(run.refreshed), drifted=", ".join(run.drifted),
                 outputs_changed="; ".join(run.outputs_changed), **fields)
