"""tfhook.core.flight: single flight with coalescing (pure asyncio, no Terraform)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from structlog.testing import capture_logs
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


def test_one_caller_gets_running_then_done() -> None:
    async def body() -> None:
        work = Work()
        work.release.set()
        flight = Flight(work)
        seen = await follow(flight, "a")
        assert seen == [Update(Status.RUNNING, "run 1 started"), Update(Status.DONE, "run 1 served 1")]
        assert flight.runs == 1 and not flight.busy

    run(body)


def test_never_two_runs_at_once_and_callers_during_a_run_share_one_more() -> None:
    async def body() -> None:
        work, flight, first = await first_run_started("first")
        later = [asyncio.ensure_future(follow(flight, n)) for n in range(5)]
        await until(lambda: len(flight._next.triggers) == 5 if flight._next else False)
        work.release.set()
        results = await asyncio.gather(first, *later)

        assert flight.runs == 2 and work.most_active == 1
        assert [b.triggers for b in work.batches] == [["first"], [0, 1, 2, 3, 4]]
        assert results[0][-1] == Update(Status.DONE, "run 1 served 1")
        for seen in results[1:]:
            assert isinstance(seen[0], str) and seen[0].startswith("queued behind the current run")
            assert seen[1:] == [Update(Status.RUNNING, "run 2 started"),
                                Update(Status.DONE, "run 2 served 5")]

    run(body)


def test_a_failed_run_fails_every_caller_that_waited_for_it() -> None:
    async def body() -> None:
        work, flight, first = await first_run_started("first")
        boom = ActionFailed("terraform refresh failed: boom")
        work.fail_with[2] = boom  # run 2 has not started: run 1 is held
        later = [asyncio.ensure_future(follow(flight, n)) for n in range(3)]
        await until(lambda: bool(flight._next and len(flight._next.triggers) == 3))
        work.release.set()
        results = await asyncio.gather(first, *later)

        assert results[0][-1] == Update(Status.DONE, "run 1 served 1")
        for seen in results[1:]:
            assert seen[-1] is boom
        assert work.batches[1].error is boom
        # The flight is free again: the next caller gets a fresh run.
        assert (await follow(flight, "after"))[-1] == Update(Status.DONE, "run 3 served 1")

    run(body)


def test_an_unexpected_exception_also_reaches_the_callers() -> None:
    async def body() -> None:
        async def broken(batch: Batch) -> Update:
            raise ValueError("bug")

        flight = Flight(broken)
        with pytest.raises(ValueError, match="bug"):
            async for _ in flight.join("a"):
                pass
        assert not flight.busy

    run(body)


def test_a_caller_that_leaves_stops_the_run_nobody_waits_for() -> None:
    async def body() -> None:
        work, flight, caller = await first_run_started("a")
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        await until(lambda: not flight.busy)
        assert work.cancelled == work.batches[:1]
        assert work.batches[0].error is not None

    run(body)


def test_a_run_keeps_going_while_someone_still_waits() -> None:
    async def body() -> None:
        work, flight, first = await first_run_started("a")
        # Two callers queued for run 2; one leaves, run 2 still happens for the other.
        stays = asyncio.ensure_future(follow(flight, "b"))
        leaves = asyncio.ensure_future(follow(flight, "c"))
        await until(lambda: bool(flight._next and len(flight._next.subscribers) == 2))
        leaves.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leaves
        work.release.set()
        assert (await first)[-1] == Update(Status.DONE, "run 1 served 1")
        assert (await stays)[-1] == Update(Status.DONE, "run 2 served 2")
        assert work.cancelled == []

    run(body)


def test_queued_callers_that_all_leave_cancel_the_queued_run() -> None:
    async def body() -> None:
        work, flight, first = await first_run_started("a")
        queued = [asyncio.ensure_future(follow(flight, n)) for n in range(2)]
        await until(lambda: bool(flight._next and len(flight._next.subscribers) == 2))
        for task in queued:
            task.cancel()
        await asyncio.gather(*queued, return_exceptions=True)
        work.release.set()
        await first
        await until(lambda: not flight.busy)
        assert flight.runs == 1

    run(body)


def test_background_runs_are_not_cancelled_when_callers_leave() -> None:
    async def body() -> None:
        work = Work()
        flight = Flight(work)
        # A background run that nobody follows runs to its end.
        batch, queued = flight.submit("reconcile", background=True)
        assert not queued
        await work.started.wait()
        # A caller joins the batch queued after it, which a retry also asked for ...
        caller = asyncio.ensure_future(follow(flight, "event"))
        await until(lambda: flight._next is not None and bool(flight._next.subscribers))
        retry, queued = flight.submit("retry", background=True)
        assert queued and retry is flight._next
        # ... and leaves: the retry's run must still happen.
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        work.release.set()
        assert batch.task is not None
        await batch.task
        await until(lambda: flight.runs == 2 and not flight.busy)
        assert work.cancelled == []
        assert [b.triggers for b in work.batches] == [["reconcile"], ["event", "retry"]]
        assert retry.error is None

    run(body)


def test_close_cancels_the_running_and_the_queued_run() -> None:
    async def body() -> None:
        work = Work()
        flight = Flight(work)
        flight.submit("bg", background=True)
        await work.started.wait()
        flight.submit("next", background=True)
        await flight.close()
        assert work.cancelled == work.batches[:1]
        await asyncio.sleep(0)
        assert flight.runs == 1 and not flight.busy

    run(body)


def test_a_background_run_keeps_what_it_did_or_its_whole_error_and_logs_nothing() -> None:
    # Its end is logged once, by the work's observer (`run done`, `run failed`: test_background,
    # test_observe_calls); the flight keeps the answer and the error, whole.
    async def body() -> None:
        work = Work()
        work.release.set()
        work.fail_with[2] = ActionFailed("terraform refresh failed\nError: Invalid expression "
                                         "(broken.tf:2)\n  Expected an expression.")
        flight = Flight(work)
        batches = []
        with capture_logs() as logs:
            for trigger in ("refresh on start", "retry after failure"):
                batch, _ = flight.submit(trigger, background=True)
                assert batch.task is not None
                await batch.task
                batches.append(batch)
        assert logs == []
        done, failed = batches
        assert (done.triggers, done.final, done.error) == (
            ["refresh on start"], Update(Status.DONE, "run 1 served 1"), None)
        assert (failed.triggers, failed.final, failed.error) == (
            ["retry after failure"], None, work.fail_with[2])

    run(body)


def _collect(flight: Flight, trigger: str) -> Awaitable[list[Any]]:
    async def follow() -> list[Any]:
        return [item async for item in flight.join(trigger)]
    return asyncio.ensure_future(follow())


def test_a_next_run_cancelled_before_it_starts_does_not_wedge_the_flight() -> None:
    # The last caller of the queued batch leaves in the same loop turn the current run
    # ends: the queued run's task is cancelled before its first step.
    async def scenario() -> None:
        go = asyncio.Event()

        async def work(batch: Batch) -> Update:
            if "A" in batch.triggers:
                await go.wait()
            return Update(Status.DONE, f"done {batch.triggers}")

        flight = Flight(work)
        first = _collect(flight, "A")
        await until(lambda: flight.busy)
        queued = _collect(flight, "B")
        await until(lambda: bool(flight._next and flight._next.subscribers))
        go.set()
        queued.cancel()  # type: ignore[attr-defined]
        assert (await first)[-1].log == "done ['A']"
        await asyncio.gather(queued, return_exceptions=True)
        await until(lambda: not flight.busy)
        later = await asyncio.wait_for(_collect(flight, "C"), HANG_GUARD)
        assert later[-1].log == "done ['C']"

    asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD))


def test_close_answers_queued_callers_and_refuses_new_ones() -> None:
    async def scenario() -> None:
        work = Work()
        flight = Flight(work)
        running = _collect(flight, "A")
        await work.started.wait()
        queued = _collect(flight, "B")
        await until(lambda: bool(flight._next and flight._next.subscribers))
        await flight.close()
        for caller, message in ((running, "the run was cancelled"),
                                (queued, "the server is stopping")):
            with pytest.raises(ActionFailed, match=message):
                await asyncio.wait_for(caller, HANG_GUARD)
        with pytest.raises(ActionFailed, match="the server is stopping"):
            flight.submit("C")

    asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD))


@pytest.mark.parametrize("overlap", [True, False])
def test_the_same_trigger_twice_is_one_run(overlap: bool) -> None:
    # The same event through two routes on one directory: at once (a parallel route) or
    # one after the other (routes in file order).
    async def scenario() -> tuple[int, list[Any], list[Any]]:
        work = Work()
        flight = Flight(work)
        event = object()
        first = asyncio.ensure_future(follow(flight, event))
        await work.started.wait()
        if not overlap:
            work.release.set()
            await first
        second = asyncio.ensure_future(follow(flight, event))
        work.release.set()
        return flight.runs, await first, await second

    runs, first, second = asyncio.run(scenario())
    assert runs == 1
    assert first[-1] == second[-1] == Update(Status.DONE, "run 1 served 1")


def test_background_triggers_are_never_served_by_an_earlier_run() -> None:
    async def scenario() -> int:
        work = Work()
        work.release.set()
        flight = Flight(work)
        for _ in range(2):
            async for _item in flight.join("reconcile", background=True):
                pass
        return flight.runs

    assert asyncio.run(scenario()) == 2
