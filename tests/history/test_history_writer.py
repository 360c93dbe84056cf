"""The history's writer thread: jobs run in order, the ones waiting together as one batch;
a job that is not urgent waits for company but never forever."""

from __future__ import annotations

import asyncio
import threading

from support.servers import HANG_GUARD

from tfhook.history.writer import Writer


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.blocked = threading.Event()

    def run(self, jobs: list[str]) -> None:
        if "block" in jobs:
            self.blocked.set()
            assert self.release.wait(HANG_GUARD), "the test never released the first batch"
        self.batches.append(list(jobs))


def test_jobs_waiting_together_are_one_batch_in_order() -> None:
    recorder = Recorder()
    writer: Writer[str] = Writer(recorder.run, "test-writer")
    writer.put("block")  # the thread is busy with it while the next ones arrive
    assert recorder.blocked.wait(HANG_GUARD)
    writer.put("end-1", urgent=False)
    writer.put("start-2")
    writer.put("end-2", urgent=False)
    recorder.release.set()
    writer.stop()
    assert recorder.batches == [["block"], ["end-1", "start-2", "end-2"]]


def test_drained_returns_after_every_job_handed_over_before_it() -> None:
    recorder = Recorder()
    writer: Writer[str] = Writer(recorder.run, "test-writer")

    async def main() -> list[list[str]]:
        writer.put("a", urgent=False)
        writer.put("b", urgent=False)
        await writer.drained()
        return [list(batch) for batch in recorder.batches]

    assert asyncio.run(main()) == [["a", "b"]]
    writer.stop()


def test_a_job_that_is_not_urgent_runs_alone_when_nothing_follows() -> None:
    ran = threading.Event()
    batches: list[list[str]] = []

    def run(jobs: list[str]) -> None:
        batches.append(jobs)
        ran.set()

    writer: Writer[str] = Writer(run, "test-writer")

    async def main() -> None:
        writer.put("end-1", urgent=False)
        # Nothing else is handed over: the loop stays free and the job still runs.
        assert await asyncio.to_thread(ran.wait, 30)

    asyncio.run(main())
    writer.stop()
    assert batches == [["end-1"]]


def test_stop_runs_what_is_waiting() -> None:
    recorder = Recorder()
    writer: Writer[str] = Writer(recorder.run, "test-writer")

    async def main() -> None:
        writer.put("end-1", urgent=False)  # lingering: a timer would wake the thread later
        writer.stop()

    asyncio.run(main())
    assert recorder.batches == [["end-1"]]


def test_a_batch_that_raises_neither_ends_the_thread_nor_strands_a_waiter() -> None:
    batches: list[list[str]] = []

    def run(jobs: list[str]) -> None:
        if "bug" in jobs:
            raise RuntimeError("a bug in the batch")
        batches.append(jobs)

    writer: Writer[str] = Writer(run, "test-writer")

    async def main() -> None:
        writer.put("bug")
        await writer.drained()  # woken although its batch raised
        writer.put("next")
        await writer.drained()

    asyncio.run(main())
    writer.stop()
    assert batches == [["next"]]


def test_after_stop_nothing_waits() -> None:
    writer: Writer[str] = Writer(lambda jobs: None, "test-writer")
    writer.stop()

    async def main() -> None:
        writer.put("late")
        await writer.drained()  # returns at once: nobody would ever wake it

    asyncio.run(main())
