"""Background runs are spread (jitter), checked with an injected clock: no real waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tfhook.core.flight import Batch, Flight
from tfhook.core.model import Status, Update
from tfhook.terraform import background


class FakeClock:
    """Time that moves only when slept; chance from a fixed list (a test-only stand-in)."""

    def __init__(self, draws: list[float]) -> None:
        self.time = 1000.0
        self.slept: list[float] = []
        self._draws: Iterator[float] = iter(draws)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.time += seconds
        await asyncio.sleep(0)

    def clock(self) -> background.Clock:
        return background.Clock(self.sleep, lambda: self.time, lambda: next(self._draws))


def test_retry_backoff_is_jittered_between_half_and_the_whole_step() -> None:
    fake = FakeClock([0.0, 0.999999, 0.5, 0.25])
    outcomes = iter([False, False, False, True])
    asked: list[str] = []

    async def request(reason: str) -> bool:
        asked.append(reason)
        return next(outcomes)

    asyncio.run(background.retry(request, lambda: True, fake.clock()))
    # Steps 2, 4, 8, 16 s: each wait is half the step plus the drawn share of the other half.
    assert fake.slept == [1.0, 3.999998, 6.0, 10.0]
    assert asked == ["retry after failure"] * 4


def test_retry_steps_stop_growing_at_the_maximum() -> None:
    fake = FakeClock([1.0 - 1e-9] * 12)
    outcomes = iter([False] * 11 + [True])

    async def request(reason: str) -> bool:
        return next(outcomes)

    asyncio.run(background.retry(request, lambda: True, fake.clock()))
    assert max(fake.slept) <= background.RETRY_MAX
    assert fake.slept[-3:] == [pytest.approx(background.RETRY_MAX)] * 3


@pytest.mark.parametrize(("draws", "waits"), [
    ([0.0, 0.0, 0.0], [600.0, 600.0]),
    ([0.5, 1.0 - 1e-9, 0.0], [540.0, 480.0]),
])
def test_reconcile_waits_a_jittered_part_of_every_never_more(draws: list[float],
                                                             waits: list[float]) -> None:
    fake = FakeClock(draws)
    runs: list[float] = []

    async def work(batch: Batch) -> Update:
        return Update(Status.DONE, "done")

    async def scenario() -> None:
        last = fake.time

        async def request(reason: str) -> bool:
            nonlocal last
            runs.append(fake.time - last)
            last = fake.time
            if len(runs) == 2:
                raise asyncio.CancelledError
            return True

        task = asyncio.ensure_future(background.reconcile(
            request, Flight(work), 600.0, lambda: last, fake.clock()))
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert [round(run, 6) for run in runs] == waits
