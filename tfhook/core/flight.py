"""Single flight with coalescing: at most one run per key; callers that arrive during a
run share the next one. Generic: it knows nothing about Terraform."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from tfhook.core.model import Update
from tfhook.errors import ActionFailed

Work = Callable[["Batch"], Awaitable[Update]]


@dataclass(eq=False)
class Batch:
    """One run and everyone waiting for it. `triggers` are what asked for it."""

    triggers: list[object] = field(default_factory=list)
    subscribers: list[asyncio.Queue[Update | BaseException | None]] = field(default_factory=list)
    started_at: float | None = None
    task: asyncio.Task[None] | None = None
    background: bool = False  # asked for by the server itself (reconcile, retry)
    error: BaseException | None = None  # how the run failed, once it has
    delivered: bool = False  # every subscriber has had the final answer
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # set when delivered
    final: Update | None = None  # the run's answer, once it succeeded
    run_id: int | None = None  # the run's history row, once recorded

    def publish(self, update: Update) -> None:
        """Send a progress update to every caller waiting on this run."""
        for queue in self.subscribers:
            queue.put_nowait(update)


class Flight:
    """Runs `work` for batches one after another; never two at once."""

    def __init__(self, work: Work) -> None:
        self._work = work
        self._current: Batch | None = None
        self._next: Batch | None = None
        self._last: Batch | None = None  # the last run that finished
        self._closed = False
        self.runs = 0

    @property
    def busy(self) -> bool:
        return self._current is not None

    async def wait_idle(self) -> None:
        """Wait until nothing runs and nothing is queued."""
        while (batch := self._next or self._current) is not None:
            await batch.finished.wait()

    def submit(self, trigger: object, *, background: bool = False) -> tuple[Batch, bool]:
        """Add a trigger to the batch that will serve it. Returns (batch, queued)."""
        if self._closed:
            raise ActionFailed("the server is stopping")
        if self._current is None:
            batch = Batch([trigger], background=background)
            self._start(batch)
            return batch, False
        if not background and not self._current.delivered and any(
                t is trigger for t in self._current.triggers):
            # The same event through a second route on this directory: the run in progress
            # already serves it.
            return self._current, False
        if self._next is None:
            self._next = Batch()
        self._next.triggers.append(trigger)
        self._next.background |= background
        return self._next, True

    async def join(self, trigger: object, *, background: bool = False,
                   served: list[Batch] | None = None) -> AsyncIterator[Update | str]:
        """Submit and follow the run: yields a queue notice (str) if queued, then updates.

        The last item is the run's final Update; a failed run raises its error. A caller
        that goes away stops waiting; a run nobody waits for any more is cancelled, unless
        the server asked for it (`background`). A caller's trigger that the run in progress
        or the last finished run serves (the same event through a second route on the
        directory) shares that run. The batch that serves the caller is added to `served`.
        """
        last = self._last
        if not background and last is not None and any(t is trigger for t in last.triggers):
            if served is not None:
                served.append(last)
            if last.error is not None:
                raise last.error
            if last.final is not None:
                yield last.final
                return
        batch, queued = self.submit(trigger, background=background)
        if served is not None:
            served.append(batch)
        queue: asyncio.Queue[Update | BaseException | None] = asyncio.Queue()
        batch.subscribers.append(queue)
        try:
            if queued and self._current is not None and self._current.started_at is not None:
                yield f"queued behind the current run (running for " \
                      f"{time.monotonic() - self._current.started_at:.1f}s)"
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            batch.subscribers.remove(queue)
            self._unwanted(batch)

    def _unwanted(self, batch: Batch) -> None:
        """A run nobody waits for any more is stopped (or never started), unless the server
        asked for it."""
        if batch.subscribers or batch.background:
            return
        if batch is self._next:
            self._next = None
            self._deliver(batch, ActionFailed("the run was cancelled"))
        elif batch.task is not None and not batch.task.done():
            batch.task.cancel()

    def _start(self, batch: Batch) -> None:
        self._current = batch
        batch.started_at = time.monotonic()
        batch.task = asyncio.ensure_future(self._run(batch))
        # A done callback, not the end of _run: a task cancelled before its first step
        # never runs _run's body, and the flight must move on all the same.
        batch.task.add_done_callback(lambda _task: self._finished(batch))

    async def _run(self, batch: Batch) -> None:
        self.runs += 1
        final: Update | BaseException
        try:
            final = await self._work(batch)
        except asyncio.CancelledError:
            final = ActionFailed("the run was cancelled")
        except Exception as exc:  # handed to every waiting caller
            final = exc
        self._deliver(batch, final)
        self._finished(batch)  # at once; the done callback only covers a task never run

    def _deliver(self, batch: Batch, final: Update | BaseException) -> None:
        if batch.delivered:
            return
        batch.delivered = True
        batch.finished.set()
        # Every run's end is logged once, by the work's observer (`run done`, `run failed`).
        if isinstance(final, BaseException):
            batch.error = final
        else:
            batch.final = final
        for queue in batch.subscribers:
            queue.put_nowait(final)
            queue.put_nowait(None)

    def _finished(self, batch: Batch) -> None:
        self._deliver(batch, ActionFailed("the run was cancelled"))
        if self._current is batch:
            self._current = None
            self._last = batch
            if self._next is not None and not self._closed:
                batch, self._next = self._next, None
                self._start(batch)

    async def close(self) -> None:
        """Answer what is queued, cancel what runs, and wait for the run to end."""
        self._closed = True
        queued, self._next = self._next, None
        if queued is not None:
            self._deliver(queued, ActionFailed("the server is stopping"))
        current = self._current
        if current is not None and current.task is not None:
            current.task.cancel()
            await asyncio.wait({current.task})  # not `await task`: our own cancel must show

