"""tfhook.core.flight's background runs and triggers: what callers leaving, a failure and a
repeated trigger do to them (pure asyncio, no Terraform)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs
from support.flight import Work, follow, run, until

from tfhook.core.flight import Flight
from tfhook.core.model import Status, Update
from tfhook.errors import ActionFailed


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
