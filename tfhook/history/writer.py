"""One thread that runs jobs in order, a batch at a time: the jobs waiting together are
handed to `run` at once (the history commits each batch once).

The event loop hands a job over with `put` (no wait, no future) or waits for everything
handed over so far with `drained`. `run` must not raise: what fails is its to report.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Job = TypeVar("Job")


class _Waiter:
    """A loop waiting for the jobs handed over before it."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future

    def wake(self) -> None:
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
        self._items: queue.SimpleQueue[Job | _Waiter | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def put(self, job: Job) -> None:
        """Hand a job over; it runs after every job handed over before it."""
        self._items.put(job)

    async def drained(self) -> None:
        """Return once every job handed over so far has run."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.put(_Waiter(future))
        await future

    def stop(self) -> None:
        """Run what was handed over, then end the thread."""
        self._items.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while True:
            batch = [self._items.get()]
            while True:  # everything waiting now is one batch
                try:
                    batch.append(self._items.get_nowait())
                except queue.Empty:
                    break
            jobs = [item for item in batch if item is not None and not isinstance(item, _Waiter)]
            if jobs:
                self._run_batch(jobs)
            for item in batch:
                if isinstance(item, _Waiter):
                    item.wake()
            if None in batch:
                return
