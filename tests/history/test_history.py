"""The history store: rows written before and after, runs, pruning, a database that fails."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import threading
from pathlib import Path

import structlog
from support.servers import HANG_GUARD

from tfhook.history import DB_NAME, CallEnd, CallStart, History, RunEnd, RunStart, query, recorder, store
from tfhook.history.rows import Job

DAY = 86400.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rows(state: Path, **filters) -> list[dict]:
    conn = query.connect(state)
    try:
        return query.calls(conn, query.Filters(**filters))
    finally:
        conn.close()


def hold_writer(history: History) -> threading.Event:
    """Keep the writer thread busy until the returned event is set: what is handed over
    meanwhile is written as one batch."""
    release, blocked = threading.Event(), threading.Event()

    def block(conn: sqlite3.Connection) -> None:
        blocked.set()
        release.wait(HANG_GUARD)

    history._writer.put(Job(block))
    assert blocked.wait(HANG_GUARD)
    return release


def start(time: float = 1000.0, **fields) -> CallStart:
    return CallStart(time=time, phase="post-handle", **fields)


def test_a_call_is_on_disk_when_call_started_returns_and_completed_after(tmp_path: Path) -> None:
    history = History(tmp_path, keep=30 * DAY, clock=Clock(2000.0))

    async def record() -> list[list[dict]]:
        ref = await history.call_started(start(
            resource_type="elb", resource_name="elb", scaling_job_id="job-1", result="UPDATED",
            routes=("elb-state",)))
        during = rows(tmp_path)
        await history.call_finished(ref, CallEnd(finished=1002.5, decision="ran", outcome="done",
                                                 duration=2.5, output="DONE: refreshed 2"))
        return [during, rows(tmp_path)]

    during, after = asyncio.run(record())
    history.close()

    assert [(r["id"], r["outcome"], r["finished"]) for r in during] == [(1, "running", None)]
    [row] = after
    assert (row["resource_type"], row["resource_name"], row["scaling_job_id"], row["result"],
            row["routes"], row["decision"], row["outcome"], row["duration"], row["output"]) == (
        "elb", "elb", "job-1", "UPDATED", ["elb-state"], "ran", "done", 2.5, "DONE: refreshed 2")
    assert history.failures == 0


def test_database_is_wal_and_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    history = History(state, keep=DAY, clock=Clock(2000.0))
    history.begin_call(start())
    history.close()
    assert stat.S_IMODE((state / DB_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    with sqlite3.connect(state / DB_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_record_triggers_and_what_changed(tmp_path: Path) -> None:
    history = History(tmp_path, keep=DAY, clock=Clock(2000.0))
    ref = history.begin_run(RunStart(started=10.0, directory="/infra/elb", route="elb-state",
                                     triggers=("event", "retry")))
    history.end_run(ref, RunEnd(finished=12.0, outcome="done", refreshed=("terraform_data.elb",),
                                drifted=("terraform_data.elb",), outputs_changed=("elb_plan",)))
    history.close()
    conn = query.connect(tmp_path)
    run = query.run(conn, 1)
    conn.close()
    assert run is not None
    assert (run["directory"], run["triggers"], run["outcome"], run["refreshed"], run["drifted"],
            run["outputs_changed"]) == ("/infra/elb", ["event", "retry"], "done",
                                        ["terraform_data.elb"], ["terraform_data.elb"],
                                        ["elb_plan"])


def test_requests_are_kept_only_when_asked(tmp_path: Path) -> None:
    for requests, expected in ((False, None), (True, '{"x":1}')):
        state = tmp_path / str(requests)
        history = History(state, keep=DAY, requests=requests, clock=Clock(2000.0))
        history.begin_call(start(request='{"x":1}'))
        history.close()
        assert rows(state)[0]["request"] == expected


def test_old_rows_are_pruned_as_writes_go(tmp_path: Path, monkeypatch) -> None:
    clock = Clock(100 * DAY)
    monkeypatch.setattr("tfhook.history.recorder.PRUNE_EVERY", 0.0)
    history = History(tmp_path, keep=30 * DAY, clock=clock)
    for day in (50, 69, 71, 99):
        history.begin_call(start(time=day * DAY, scaling_job_id=f"day-{day}"))
    history.begin_run(RunStart(started=60 * DAY, directory="/d"))
    history.close()
    assert [r["scaling_job_id"] for r in rows(tmp_path)] == ["day-99", "day-71"]
    conn = query.connect(tmp_path)
    assert query.run(conn, 1) is None
    conn.close()


def test_a_database_that_cannot_be_written_is_logged_and_counted(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    history = History(blocker, keep=DAY, clock=Clock(2000.0))

    async def record() -> None:
        ref = await history.call_started(start())
        await history.call_finished(ref, CallEnd(finished=1.0, decision="ran", outcome="done",
                                                 duration=1.0))

    with structlog.testing.capture_logs() as logs:
        asyncio.run(record())
        history.close()
    assert history.failures == 1  # the start failed; the end had no row to complete
    assert [(e["event"], e["log_level"]) for e in logs] == [("history write failed", "error")]


def test_filters_select_by_job_route_failure_and_time(tmp_path: Path) -> None:
    history = History(tmp_path, keep=1000 * DAY, clock=Clock(2000.0))
    calls = [("a", ("elb",), "done", 100.0), ("b", ("web",), "failed", 200.0),
             ("a", ("elb", "notify"), "timeout", 300.0), ("c", ("web",), None, 400.0)]
    for job, routes, outcome, time in calls:
        ref = history.begin_call(start(time=time, scaling_job_id=job, routes=routes))
        if outcome is not None:
            history.end_call(ref, CallEnd(finished=time + 1, decision="ran", outcome=outcome,
                                          duration=1.0, error=None if outcome == "done" else "x"))
    history.close()

    def ids(**filters) -> list[int]:
        return [row["id"] for row in rows(tmp_path, **filters)]

    assert ids() == [4, 3, 2, 1]
    assert ids(limit=2) == [4, 3]
    assert ids(job="a") == [3, 1]
    assert ids(route="elb") == [3, 1]
    assert ids(route="notify") == [3]
    assert ids(failed=True) == [3, 2]
    assert rows(tmp_path, limit=1)[0]["outcome"] == "running"  # its writer (this process) lives
    assert ids(since=250.0) == [4, 3]


def test_a_start_the_database_cannot_take_at_once_goes_through_the_writer(tmp_path: Path
                                                                          ) -> None:
    history = History(tmp_path, keep=DAY, clock=Clock(2000.0))
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock

    async def record() -> tuple[int | None, int | None]:
        ref = history.start_call(start(scaling_job_id="locked"))
        before = ref.id  # not written on the event loop: it would have had to wait
        other.execute("ROLLBACK")
        await history.flush()
        return before, ref.id

    before, after = asyncio.run(record())
    history.close()
    other.close()
    assert (before, after, history.failures) == (None, 1, 0)
    assert [r["scaling_job_id"] for r in rows(tmp_path)] == ["locked"]


def test_a_database_error_on_the_event_loop_fails_no_call(tmp_path: Path, monkeypatch) -> None:
    # What a database damaged while serving raises there (seen on a live server).
    history = History(tmp_path, keep=DAY, clock=Clock(2000.0))
    loop_connection, insert = history._now, store.insert_call

    def damaged(conn: sqlite3.Connection, call: CallStart) -> int:
        if conn is loop_connection:
            raise sqlite3.DatabaseError("file is not a database")
        return insert(conn, call)

    monkeypatch.setattr(store, "insert_call", damaged)

    async def record() -> list[int | None]:
        refs = [history.start_call(start(scaling_job_id=job)) for job in ("a", "b")]
        await history.flush()
        return [ref.id for ref in refs]

    with structlog.testing.capture_logs() as logs:
        ids = asyncio.run(record())  # must not raise into the calls
        history.close()
    assert ids == [1, 2] and history.failures == 0  # both written by the writer thread
    assert [(e["event"], e["reason"]) for e in logs] == [
        ("history written from its thread only from now on",
         "the database failed: file is not a database")]


def test_one_bad_write_in_a_batch_loses_only_itself(tmp_path: Path) -> None:
    history = History(tmp_path, keep=DAY, clock=Clock(2000.0))
    release = hold_writer(history)  # the next three wait together behind it

    def broken() -> CallStart:
        raise ValueError("a row that cannot be built")

    with structlog.testing.capture_logs() as logs:
        history.begin_call(start(scaling_job_id="a"))
        history.begin_call(broken)
        history.begin_call(start(scaling_job_id="c"))
        release.set()
        history.close()
    assert [r["scaling_job_id"] for r in rows(tmp_path)] == ["c", "a"]  # newest first
    assert history.failures == 1
    assert [(e["event"], e["failures"]) for e in logs] == [("history write failed", 1)]


def test_a_prune_that_fails_keeps_the_rows_written(tmp_path: Path, monkeypatch) -> None:
    def fail(*args: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "prune", fail)
    history = History(tmp_path, keep=DAY, clock=Clock(2000.0))
    with structlog.testing.capture_logs() as logs:
        ref = history.begin_call(start())
        history.end_call(ref, CallEnd(finished=1001.0, decision="ran", outcome="done",
                                      duration=1.0))
        history.close()
    assert [(r["outcome"], r["finished"]) for r in rows(tmp_path)] == [("done", 1001.0)]
    assert history.failures == 0
    assert [e["event"] for e in logs] == ["history prune failed"]


def test_a_locked_database_loses_the_batch_once_without_retrying_each_job(
        tmp_path: Path, monkeypatch) -> None:
    history = History(tmp_path, keep=DAY, clock=Clock(2000.0))
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
    opened: list[Path] = []
    connect = store.connect

    def no_wait(path: Path, *, wait: float = 5.0) -> sqlite3.Connection:
        opened.append(path)
        return connect(path, wait=0)  # the lock is reported at once, not after 5 s

    monkeypatch.setattr(store, "connect", no_wait)
    release = hold_writer(history)  # the next three wait together behind it
    with structlog.testing.capture_logs() as logs:
        for job in ("a", "b", "c"):
            history.begin_call(start(scaling_job_id=job))
        release.set()
        history.close()
    other.close()
    assert (history.failures, len(opened)) == (3, 1)  # one batch, one attempt
    # The first batch's prune met the lock too: logged, not counted as a lost row.
    assert [(e["event"], e.get("failures")) for e in logs] == [
        ("history prune failed", None), ("history write failed", 3)]


def test_a_slow_write_on_the_event_loop_sends_the_next_rows_to_the_thread(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(recorder, "SLOW_WRITE", -1.0)  # every write counts as slow
    history = History(tmp_path, keep=DAY, clock=Clock(2000.0))

    async def record() -> list[int | None]:
        first = history.start_call(start(scaling_job_id="a"))
        second = history.start_call(start(scaling_job_id="b"))
        seen = [first.id, second.id]  # the second waits for the writer thread
        await history.flush()
        return [*seen, second.id]

    with structlog.testing.capture_logs() as logs:
        ids = asyncio.run(record())
        history.close()
    assert ids == [1, None, 2]
    assert [e["event"] for e in logs] == ["history written from its thread only from now on"]
    assert logs[0]["reason"].startswith("a write took ")
