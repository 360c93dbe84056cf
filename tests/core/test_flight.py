"""tfhook.core.flight: single flight with coalescing (pure asyncio, no Terraform)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from support.flight import Work, first_run_started, follow, run, until
from support.servers import HANG_GUARD

from tfhook.core.flight import Batch, Flight
from tfhook.core.model import Status, Update
from tfhook.errors import ActionFailed


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
