"""The one way in for whatever watches tfhook work: calls, their routes, and runs.

Logs, metrics and the history each implement `Observer`; the server puts them behind one
`Observers` fan-out, given to the pipeline (calls) and to the runners (runs) when they are
made. Nothing an observer does changes what the Core is answered: an observer's error is
logged, never raised into a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from tfhook.core.model import Action, Event, Outcome, Update, outcome_name

log = structlog.get_logger("tfhook.calls")
# What asked for a run, as the metrics' `trigger` label and the history name it.
TRIGGERS = {"refresh on start": "start", "reconcile": "reconcile", "retry after failure": "retry"}


@dataclass(eq=False)
class Call:
    """One call from the Core while it runs."""

    event: Event
    routes: tuple[str, ...]
    started: float = field(default_factory=time.monotonic)
    coalesced: bool = False  # queued behind a run in progress: it shares the next run
    secrets: list[str] | None = None  # the request's secret values, once decoded
    history: Any = None  # what the history keeps of the call while it runs


@dataclass(frozen=True, slots=True)
class CallEnd:
    """How a call ended, worked out once for every observer."""

    final: Update | None
    outcome: str  # done, ignored, empty…; failed, timeout, cancelled
    decision: str  # ignored, coalesced, ran
    duration: float
    run_id: int | None
    reason: str | None  # why it ended without its answer (unscrubbed: observers scrub it)


def call_end(call: Call, final: Update | None, error: BaseException | None,
             run_ids: Sequence[int]) -> CallEnd:
    """The end of `call`: its last update, or the error it ended with, and the runs it used."""
    return CallEnd(
        final=final,
        outcome=outcome_name(None if final is None else final.status,
                             None if error is None else type(error).__name__),
        decision="ignored" if not call.routes else "coalesced" if call.coalesced else "ran",
        duration=time.monotonic() - call.started,
        run_id=run_ids[-1] if run_ids else None,
        reason=None if error is None else _reason(error))


def _reason(error: BaseException) -> str:
    """Why a call ended without its answer, in words (never a bare exception name)."""
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        # The server's stop says so in the cancel message; otherwise the caller went away.
        return str(error) or "cancelled: the client went away before the answer"
    return str(error) or type(error).__name__


@dataclass(eq=False)
class Run:
    """One Terraform run: what asked for it, and, once ended, what it did."""

    route: str
    directory: str
    triggers: tuple[str, ...]
    started: float = field(default_factory=time.time)
    clock: float = field(default_factory=time.monotonic)
    id: int | None = None
    outcome: str = ""
    error: str | None = None
    lock_failed: bool = False
    refreshed: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    unexplained: int = 0  # of `drifted`, those no event of the run explains (#21)
    outputs_changed: tuple[str, ...] = ()
    reverts: tuple[str, ...] = ()  # what the next apply would change back (its warnings)
    refused: bool = False  # failed because the guard refused removals from the state
    holding: bool = False  # failed because its directory holds a plan for an operator
    events: int = 0  # the calls it served
    duration: float = 0.0
    history: Any = None  # the history's reference to its row

    @property
    def trigger(self) -> str:
        """The one trigger metrics name: `event` when any call asked, else the first."""
        return "event" if "event" in self.triggers else (self.triggers or ("event",))[0]

    def stop(self, events: int) -> None:
        """The run has ended, having served `events` calls."""
        self.events = events
        self.duration = time.monotonic() - self.clock


@dataclass(frozen=True, slots=True)
class Decision:
    """What an operator decided through the admin service (#21), and how it ended."""

    action: str  # approve, deny, rollback
    run: int  # the run decided on (rollback: the run whose snapshot is pushed back)
    user: str  # as the client reports it
    outcome: str  # done, refused, failed, cancelled
    message: str  # what was done, or why not
    directory: str = ""  # "" when no directory holds the run
    route: str = ""
    peer: str = ""
    time: float = field(default_factory=time.time)


def trigger_kinds(triggers: Sequence[object]) -> tuple[str, ...]:
    """`event`, `start`, `reconcile`, `retry`: what asked for a run, each once, in order."""
    kinds = ["event" if isinstance(t, Event) else TRIGGERS.get(str(t), str(t)) for t in triggers]
    return tuple(dict.fromkeys(kinds))


class Observer(Protocol):
    """What watches calls, the routes they run, and Terraform runs. Each method does
    nothing unless overridden; none may change what the Core is answered."""

    async def call_start(self, call: Call) -> None:
        """A call arrived (awaited: the history's row is on disk before anything runs)."""
        return None

    def call_update(self, call: Call, update: Update) -> None:
        """The call answers `update` (several routes' updates labelled and combined)."""
        return None

    async def call_end(self, call: Call, end: CallEnd) -> None:
        """The call ended (its answer is out, or it failed)."""
        return None

    def route_start(self, action: Action) -> None:
        """One route starts for a call, or a background run starts (`action.trigger`)."""
        return None

    def route_update(self, action: Action, update: Update) -> None:
        """That route's runner yielded `update`."""
        return None

    def route_end(self, outcome: Outcome) -> None:
        """That route ended."""
        return None

    async def run_start(self, run: Run) -> None:
        """A Terraform run starts (awaited: its row, whose id calls point to)."""
        return None

    def run_end(self, run: Run) -> None:
        """That run ended (`run.stop` was called)."""
        return None

    def run_changed(self, run: Run) -> None:
        """An ended run's outcome changed: a held run was applied, denied, superseded or
        expired (`run.outcome`; `run.error` says by whom or why)."""
        return None

    def retry_pending(self, route: str, pending: bool) -> None:
        """A background retry after a failed run is pending, or no longer."""
        return None

    def decided(self, decision: Decision) -> None:
        """An operator approved, denied or rolled back (done, or refused and why)."""
        return None


class Observers(Observer):
    """Every observer behind one: a plain loop over a tuple, each error logged only."""

    def __init__(self, observers: Sequence[Observer] = ()) -> None:
        self.each = tuple(observers)

    async def call_start(self, call: Call) -> None:
        for observer in self.each:
            try:
                await observer.call_start(call)
            except Exception:
                _failed(observer)

    def call_update(self, call: Call, update: Update) -> None:
        for observer in self.each:
            try:
                observer.call_update(call, update)
            except Exception:
                _failed(observer)

    async def call_end(self, call: Call, end: CallEnd) -> None:
        for observer in self.each:
            try:
                await observer.call_end(call, end)
            except Exception:
                _failed(observer)

    def route_start(self, action: Action) -> None:
        for observer in self.each:
            try:
                observer.route_start(action)
            except Exception:
                _failed(observer)

    def route_update(self, action: Action, update: Update) -> None:
        for observer in self.each:
            try:
                observer.route_update(action, update)
            except Exception:
                _failed(observer)

    def route_end(self, outcome: Outcome) -> None:
        for observer in self.each:
            try:
                observer.route_end(outcome)
            except Exception:
                _failed(observer)

    async def run_start(self, run: Run) -> None:
        for observer in self.each:
            try:
                await observer.run_start(run)
            except asyncio.CancelledError:  # stopped before it started: a run that ended
                run.outcome, run.error = "cancelled", "the run was cancelled"
                run.stop(0)
                self.run_end(run)
                raise
            except Exception:
                _failed(observer)

    def run_end(self, run: Run) -> None:
        for observer in self.each:
            try:
                observer.run_end(run)
            except Exception:
                _failed(observer)

    def run_changed(self, run: Run) -> None:
        for observer in self.each:
            try:
                observer.run_changed(run)
            except Exception:
                _failed(observer)

    def retry_pending(self, route: str, pending: bool) -> None:
        for observer in self.each:
            try:
                observer.retry_pending(route, pending)
            except Exception:
                _failed(observer)

    def decided(self, decision: Decision) -> None:
        for observer in self.each:
            try:
                observer.decided(decision)
            except Exception:
                _failed(observer)


def _failed(observer: Observer) -> None:
    with contextlib.suppress(Exception):
        log.exception("observer failed", observer=type(observer).__name__)
