"""The recording API: writes go to one writer thread, in order, and never raise.

The event loop only hands jobs over (`begin_*`/`end_*`) or awaits them (`call_started`
and friends, for a row that must exist before an action starts). The jobs waiting together
are written in one transaction (many calls at once share a commit); a call's completion
does not wake the writer, it goes with the next batch (at most `writer.LINGER` later).

One write is made on the event loop itself: a call's start (`start_call`), when the
database is free at that instant. Its connection never waits for a lock (SQLITE_BUSY at
once: the row then goes through the writer) and never checkpoints (the writer's connection
does), so the write is an append to the WAL in the page cache, as a log line is to stderr;
a hop to the writer thread and back cost a call 0.2-0.3 ms. A write there that fails, or
takes over SLOW_WRITE (a stalled disk), ends this: from then on every row goes through the
writer. A database that cannot be opened or written is logged and counted in `failures`;
the caller never sees it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import structlog

from tfhook.history import store
from tfhook.history.records import CallStart, Ref
from tfhook.history.rows import Job, Rows
from tfhook.history.writer import Writer

DB_NAME = "history.sqlite3"
PRUNE_EVERY = 600.0  # seconds between two prunes of old rows
SLOW_WRITE = 0.05  # seconds: an event-loop write this slow sends every later one to the thread
log = structlog.get_logger("tfhook.history")


class History(Rows):
    """One history database, written by one thread."""

    store = store  # the row writes: the SQLite module (rows.Store)

    def __init__(self, directory: Path, *, keep: float, requests: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = directory / DB_NAME
        self.keep = keep
        self.requests = requests  # whether CallStart.request is stored at all
        self.failures = 0
        self.late = 0  # calls whose hook started before their row was written (HistorySink)
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        # The event loop's connection (start_call); a database that cannot be opened is
        # the writer's to report.
        self._now: sqlite3.Connection | None = None
        for problem in store.tighten(self.path):
            log.warning("history not private", problem=problem)
        with contextlib.suppress(OSError, sqlite3.Error):
            self._now = store.connect(self.path, wait=0)
        self._pruned = float("-inf")
        self._pending: dict[int, int] = {}  # id(Ref) → row, in the transaction being written
        self._writer: Writer[Job] = Writer(self._run, "tfhook-history")

    # Non-blocking: write now if the database is free, else hand it to the writer.

    def start_call(self, call: CallStart) -> Ref:
        """A call's row: written before this returns when the database is free at once
        (`Ref.id` set), else handed to the writer like `begin_call` (await `flush`)."""
        conn = self._now
        if conn is None or (call.request is not None and not self.requests):
            return self.begin_call(call)
        started = time.monotonic()
        try:
            with conn:
                conn.execute("BEGIN")
                ref = Ref(store.insert_call(conn, call))
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):  # else another writer holds it: go through ours
                self._writer_only(f"the database failed: {exc}")
            return self.begin_call(call)
        except Exception as exc:  # never into the call: the writer logs and counts failures
            self._writer_only(f"the database failed: {exc}")
            return self.begin_call(call)
        if time.monotonic() - started > SLOW_WRITE:  # a stalled disk must not stall calls
            self._writer_only(f"a write took {time.monotonic() - started:.3f}s")
        return ref

    def _writer_only(self, why: str) -> None:
        """Stop writing on the event loop: every row goes through the writer thread."""
        conn, self._now = self._now, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        log.warning("history written from its thread only from now on", reason=why,
                    path=str(self.path))

    def close(self) -> None:
        """Finish the writes handed over, then close the database."""
        self._writer.stop()
        self._close()
        if self._now is not None:
            conn, self._now = self._now, None
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _run(self, jobs: list[Job]) -> None:
        """One batch on the writer thread: one transaction, committed once. When it fails,
        each job is tried again alone, so that one bad write loses only itself."""
        made_here = {id(job.made) for job in jobs if job.made is not None}
        todo = [job for job in jobs if job.wanted(made_here)]
        if not todo:
            return
        try:
            self._commit(todo)
        except (sqlite3.OperationalError, OSError) as exc:  # the database itself (locked,
            self._close()  # I/O, full, cannot open): the batch is lost, not retried
            self._failed(len(todo), exc)
        except Exception:  # never into the caller: the Core's answer must not change
            self._close()
            errors = [error for job in todo if (error := self._alone(job)) is not None]
            if errors:
                self._failed(len(errors), errors[0])
        self._maybe_prune()

    def _failed(self, count: int, error: Exception) -> None:
        log.error("history write failed", path=str(self.path), error=str(error),
                  failures=self.failures + count)
        self.failures += count  # after the log line: a count seen was logged

    def _commit(self, jobs: list[Job]) -> None:
        """Write jobs in one transaction (see Rows._commit_jobs)."""
        if self._conn is None:
            self._conn = store.connect(self.path)
        self._commit_jobs(jobs, _transaction(self._conn))

    def _alone(self, job: Job) -> Exception | None:
        """Write one job in a transaction of its own; its error, if it failed."""
        if not job.wanted(set()):
            return None  # its start failed (counted): nothing to complete
        try:
            self._commit([job])
        except Exception as exc:
            self._close()
            return exc
        return None

    def _maybe_prune(self) -> None:
        now = self._clock()
        if self._conn is None or now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        try:
            removed = store.prune(self._conn, now - self.keep)
        except Exception as exc:  # the rows written stay written; pruning is tried again
            log.error("history prune failed", path=str(self.path), error=str(exc))
            return
        if removed:
            log.info("history pruned", rows=removed, keep=self.keep)

    def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlite3.Error):
                conn.close()


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    with conn:  # BEGIN … COMMIT, or ROLLBACK when a write raises
        conn.execute("BEGIN")
        yield conn
