"""The one path every call takes: route an Event to its hooks, run them, tell the observer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from typing import Any

import structlog

from tfhook.core import fanout
from tfhook.core.awaiting import to_the_end
from tfhook.core.model import Action, Event, Outcome, Status, Update
from tfhook.core.observer import Call, Observer, call_end
from tfhook.core.routing import route
from tfhook.core.table import Runner, Table
from tfhook.errors import TfhookError

log = structlog.get_logger("tfhook.pipeline")


class Pipeline:
    """Routes events, executes actions through their runners, reports every step to the
    observer (the server's `Observers`: logs, metrics, history)."""

    def __init__(self, table: Table, observer: Observer) -> None:
        self.table = table  # the hooks in force (opened before; a reload swaps it whole)
        self.observer = observer
        self._closing: set[asyncio.Task[None]] = set()

    def plan(self, event: Event) -> list[Action]:
        """The actions for an event under the hooks in force (see `routing.route`)."""
        return route(event, self.table.hooks, announce_unmatched=self.table.announce_unmatched)

    async def handle(self, event: Event) -> AsyncIterator[Update]:
        """Answer one call: run every route it matches, on the table in force when it came.

        Args:
            event: the decoded call.

        Yields:
            The Updates to send, in order; errors propagate after the observer saw them.
        """
        table = self.table
        task = asyncio.current_task()
        if task is not None:
            table.calls.add(task)
        try:
            actions = route(event, table.hooks, announce_unmatched=table.announce_unmatched)
            routes = tuple(str(action.hook) for action in actions if action.hook is not None)
            call = Call(event, routes)
            last: Update | None = None
            error: BaseException | None = None
            try:
                await self.observer.call_start(call)  # its row is on disk before anything runs
                async for update in self._call(actions, table):
                    last = update
                    call.coalesced |= update.queued  # it shares the next run
                    self.observer.call_update(call, update)
                    yield update
            except BaseException as exc:
                error = exc
                raise
            finally:
                served = [b.run_id for a in actions for b in a.served if b.run_id is not None]
                end = call_end(call, last, error, served)
                await self._after_call(self.observer.call_end(call, end), error)
        finally:
            table.calls.discard(task)

    async def _after_call(self, done: Coroutine[Any, Any, None],
                          error: BaseException | None) -> None:
        """Record a call's end. Answered: after the Core has its status (the log line and
        the row's end cost 0.1 ms); closed unawaited (GeneratorExit): no await is allowed.
        Otherwise before the error goes out."""
        if error is not None and not isinstance(error, GeneratorExit):
            await to_the_end(done)  # recorded even when the call is being cancelled
            return
        task = asyncio.ensure_future(done)
        self._closing.add(task)
        task.add_done_callback(_after_call_done)
        task.add_done_callback(self._closing.discard)

    def _call(self, actions: list[Action], table: Table) -> AsyncIterator[Update]:
        if len(actions) == 1:  # exactly what that hook alone answers
            return execute(self.observer, actions[0], table.runners)
        parallel = {hook.name for hook in table.hooks if hook.parallel}
        return fanout.run(actions, parallel, lambda action: execute(self.observer, action, table.runners))

    async def wait_idle(self, tables: Sequence[Table], timeout: float) -> None:
        """Wait, at most `timeout` seconds, for calls still running or unwinding.

        A call cancelled at shutdown is still stopping its process group (stop signal,
        a wait, SIGKILL); the event loop must not end under it.

        Args:
            tables: the tables whose calls to wait for.
            timeout: the longest wait in seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:  # a call that ends meanwhile leaves its end to record (_closing)
            calls = {c for table in tables for c in table.calls} | self._closing
            calls = {c for c in calls if not c.done()}
            if not calls or loop.time() >= deadline:
                return
            await asyncio.wait(calls, timeout=deadline - loop.time())


async def execute(observer: Observer, action: Action, runners: Mapping[str, Runner]
                  ) -> AsyncIterator[Update]:
    """Run one action, yielding its Updates; errors propagate after the observer saw them.

    The one way a run goes, for calls (through a Pipeline) and background runs alike.

    Args:
        observer: who is told each step (the server's `Observers`).
        action: one route's action (or a skip).
        runners: the runners by hook name.

    Yields:
        The Updates to send, in order.
    """
    started = time.monotonic()
    observer.route_start(action)
    last: Update | None = None
    error: BaseException | None = None
    try:
        async for update in _updates(action, runners):
            last = update
            observer.route_update(action, update)
            yield update
    except BaseException as exc:  # also bugs: observers must not count them as success
        error = exc
        raise
    finally:
        outcome = Outcome(
            action=action,
            final=last.status if last is not None and error is None else None,
            error=None if error is None else (str(error) or "cancelled"),
            error_kind=None if error is None else type(error).__name__,
            duration=time.monotonic() - started,
            log=last.log if last is not None and error is None else "",
        )
        observer.route_end(outcome)


async def background(observer: Observer, hook: str, runner: Runner, reason: str) -> bool:
    """A run the server asks for itself (start-up refresh, reconcile, retry), through
    the same path as calls so that every observer sees it. Its trigger is the reason,
    not an event: no call asked for it.

    Args:
        observer: who is told each step.
        hook: the hook it runs for.
        runner: that hook's runner.
        reason: why it runs (the observers' `trigger`).

    Returns:
        Whether the run succeeded.
    """
    try:
        async for _ in execute(observer, Action(reason, hook), {hook: runner}):
            pass
    except TfhookError:
        return False
    return True


async def _updates(action: Action, runners: Mapping[str, Runner]) -> AsyncIterator[Update]:
    if action.hook is None:
        if action.announce:
            yield Update(Status.IGNORED, action.reason)
        return
    async for update in runners[action.hook].run(action):
        yield update


def _after_call_done(task: asyncio.Task[None]) -> None:
    # Observers never change what the Core is answered; their errors are logged, not lost.
    if not task.cancelled() and task.exception() is not None:
        with contextlib.suppress(Exception):
            log.error("recording a call's end failed", error=repr(task.exception()))


