"""One thread that runs jobs in order, a batch at a time: the jobs waiting together are
handed to `run` at once (the history commits each batch once).

The event loop hands a job over with `put` (no wait, no future) or waits for everything
handed over so far with `drained`. A job that is not `urgent` does not wake the thread: it
goes with the next urgent one, or at most `LINGER` seconds later. `run` must not raise.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import structlog

Job = TypeVar("Job")
LINGER = 0.05  # seconds a job that is not urgent may wait for company
log = structlog.get_logger("tfhook.history")


class _Waiter:
    """A loop waiting for the jobs handed over before it."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits any more
            self.future.get_loop().call_soon_threadsafe(_done, self.future)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():  # the waiter may have been cancelled
        future.set_result(None)


class Writer(Generic[Job]):
    """Runs jobs on one thread, a batch at a time.

    Args:
        run: runs one batch of jobs, in order; never raises.
        name: the thread's name.
    """

    def __init__(self, run: Callable[[list[Job]], None], name: str) -> None:
        self._run_batch = run
        self._items: collections.deque[Job | _Waiter | None] = collections.deque()
        self._wakes: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._lingering: asyncio.TimerHandle | None = None
        self._stopped = False
        self._lock = threading.Lock()  # stop() runs on another thread than put()/drained()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def put(self, job: Job, *, urgent: bool = True) -> None:
        """Hand a job over; it runs after every job handed over before it (none does once
        the writer is stopped)."""
        with self._lock:
            if self._stopped:
                return
            self._items.append(job)
        if urgent:
            self._wake()
            return
        if self._lingering is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._wake()
            return
        self._lingering = loop.call_later(LINGER, self._wake)

    async def drained(self) -> None:
        """Return once every job handed over so far has run."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._stopped:
                return
            self._items.append(_Waiter(future))
        self._wake()
        await future

    def stop(self) -> None:
        """Run what was handed over, then end the thread. A lingering timer that fires
        later only wakes a thread that has ended (it is not cancelled from here: this
        may be another thread than its loop's)."""
        with self._lock:
            self._stopped = True
            self._items.append(None)
        self._wakes.put(None)
        self._thread.join()

    def _wake(self) -> None:
        if self._lingering is not None:
            self._lingering.cancel()
            self._lingering = None
        self._wakes.put(None)

    def _serve(self) -> None:
        while True:
            self._wakes.get()
            batch = []
            while self._items:  # everything waiting now is one batch
                batch.append(self._items.popleft())
            jobs = [item for item in batch if item is not None and not isinstance(item, _Waiter)]
            if jobs:
                try:
                    self._run_batch(jobs)
                except Exception:  # a bug in `run`: the thread must live, and waiters wake
                    log.exception("history writer: a batch failed")
            for item in batch:
                if isinstance(item, _Waiter):
                    item.wake()
            if any(item is None for item in batch):  # stop(): what came before it has run
                return
