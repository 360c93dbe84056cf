"""A fake run for tfhook.core.flight's tests, and the waits they share (pure asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from support.servers import HANG_GUARD
from tfhook.core.flight import Batch, Flight
from tfhook.core.model import Status, Update
from tfhook.errors import ActionFailed


class Work:
    """A fake run: records each batch, holds until released, then answers DONE or fails."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.active = 0
        self.most_active = 0
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.cancelled: list[Batch] = []
        self.fail_with: dict[int, Exception] = {}  # run number (1-based) → error

    async def __call__(self, batch: Batch) -> Update:
        self.batches.append(batch)
        number = len(self.batches)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        self.started.set()
        try:
            batch.publish(Update(Status.RUNNING, f"run {number} started"))
            await self.release.wait()
            if number in self.fail_with:
                raise self.fail_with[number]
            return Update(Status.DONE, f"run {number} served {len(batch.triggers)}")
        except asyncio.CancelledError:
            self.cancelled.append(batch)
            raise
        finally:
            self.active -= 1


async def follow(flight: Flight, trigger: object) -> list[Any]:
    """Everything a caller sees: queue notices, updates, or the error it raised."""
    seen: list[Any] = []
    try:
        async for item in flight.join(trigger):
            seen.append(item)
    except ActionFailed as exc:
        seen.append(exc)
    return seen


async def first_run_started(trigger: object) -> tuple[Work, Flight, asyncio.Future[list[Any]]]:
    """A flight over a held Work and the caller for `trigger`, once its run (run 1) started."""
    work = Work()
    flight = Flight(work)
    caller = asyncio.ensure_future(follow(flight, trigger))
    await work.started.wait()
    return work, flight, caller


async def until(condition: Callable[[], bool], what: str = "condition") -> None:
    async with asyncio.timeout(HANG_GUARD):
        while not condition():
            await asyncio.sleep(0.001)


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(HANG_GUARD):  # a caller left waiting forever is a failure
            await test()

    asyncio.run(bounded())
