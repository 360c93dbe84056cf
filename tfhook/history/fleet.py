"""The history in PostgreSQL, shared by a fleet of servers (#24): the same recording API as
`History` (recorder.py), written by one thread through a small connection pool.

A database that cannot be reached or written never reaches a call: the batch is lost and
counted in `failures`, logged once per outage (and once more when writes resume), and the
pool reconnects in the background; an unreachable database at start only means the first
rows are lost. A heartbeat job runs every `every` seconds, so that readers on any host can
tell a crashed instance's calls (`unfinished`) from running ones.

psycopg and psycopg_pool (the extra `tfhook[postgres]`) are imported here, and this module
only when a history URL is given.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog

from tfhook.history import dsn, pgstore, versions
from tfhook.history.recorder import PRUNE_EVERY
from tfhook.history.records import CallStart, Ref
from tfhook.history.rows import Job, Rows
from tfhook.history.writer import Writer

HEARTBEAT = 10.0  # seconds between two heartbeats; a reader waits three before `unfinished`
CONNECT_WAIT = 2.0  # seconds a batch waits for a connection before it is lost (counted)
# The pool retries a lost connection with a doubling delay and no cap: after a 40 s outage
# its next try could come a minute later, every row meanwhile lost. So it tries for at most
# this long (attempts 1 s apart), then gives up; the next batch (a call's row, or the
# heartbeat) starts a new attempt at once. Rows resume at most a second or so after the
# database is back, and a database that stays down sees one attempt per batch at most.
RECONNECT_FOR = 2.0
log = structlog.get_logger("tfhook.history")


class FleetHistory(Rows):
    """One PostgreSQL history, written by one thread of this server."""

    store = pgstore  # the row writes (rows.Store)

    def __init__(self, url: str, *, keep: float, requests: bool = False,
                 every: float = HEARTBEAT, clock: Callable[[], float] = time.time) -> None:
        from psycopg_pool import ConnectionPool

        self.path = dsn.mask(url)  # what logs and the serving line show
        self.keep, self.requests, self.every = keep, requests, every
        self.failures = 0
        self.late = 0  # calls whose hook started before their row was written (HistorySink)
        self._url, self._clock, self._started = url, clock, clock()
        self._down = False  # an outage was logged; the next success says it ended
        self._migrated = False
        self._pruned = float("-inf")
        self._pending: dict[int, int] = {}
        self._pool = ConnectionPool(
            url, min_size=1, max_size=1, open=False, name="tfhook-history",
            kwargs={"connect_timeout": 5, "application_name": "tfhook"},
            check=ConnectionPool.check_connection, reconnect_timeout=RECONNECT_FOR)
        # The pool logs each failed reconnection; tfhook logs an outage once (_failed).
        logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
        self._pool.open(wait=False)  # unreachable now: serve anyway, reconnect meanwhile
        self._writer: Writer[Job] = Writer(self._run, "tfhook-history")
        self._stop = threading.Event()
        self._beats = threading.Thread(target=self._beat, name="tfhook-heartbeat", daemon=True)
        self._beats.start()

    def start_call(self, call: CallStart) -> Ref:
        """As `History.start_call`: here always through the writer (await `flush`)."""
        return self.begin_call(call)

    def close(self) -> None:
        """Finish the writes handed over, say this instance stopped, close the pool."""
        self._stop.set()
        self._beats.join()
        self._writer.put(Job(lambda conn: pgstore.stopped(conn, self._clock())))
        self._writer.stop()
        self._pool.close()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self._writer.put(Job(None))

    def _run(self, jobs: list[Job]) -> None:
        """One batch: one transaction with this instance's heartbeat. A batch the database
        refuses is tried job by job, so that one bad write loses only itself."""
        made_here = {id(job.made) for job in jobs if job.made is not None}
        todo = [job for job in jobs if job.wanted(made_here)]
        rows = sum(job.write is not None for job in todo)
        try:
            with self._pool.connection(timeout=CONNECT_WAIT) as conn:
                self._ready(conn)
                try:
                    self._commit(conn, todo)
                except Exception as exc:
                    if _lost_link(exc):
                        raise
                    self._alone(conn, todo)
        except Exception as exc:  # never into the caller: the Core's answer must not change
            self._failed(rows, exc)
            return
        self._resumed()
        self._maybe_prune()

    def _ready(self, conn: Any) -> None:
        if not self._migrated:
            pgstore.migrate(conn, self.path)
            self._migrated = True

    def _commit(self, conn: Any, jobs: list[Job]) -> None:
        """Write jobs in one transaction that also beats (see Rows._commit_jobs)."""
        self._commit_jobs(jobs, self._beating(conn))

    @contextlib.contextmanager
    def _beating(self, conn: Any) -> Iterator[Any]:
        with conn.transaction():
            pgstore.beat(conn, self._clock(), self.every, self._started)
            yield conn

    def _alone(self, conn: Any, jobs: list[Job]) -> None:
        errors = []
        for job in jobs:
            if job.write is None or not job.wanted(set()):
                continue
            try:
                self._commit(conn, [job])
            except Exception as exc:
                if _lost_link(exc):
                    raise
                errors.append(exc)
        if errors:
            self._failed(len(errors), errors[0])

    def _failed(self, count: int, error: Exception) -> None:
        if isinstance(error, versions.SchemaTooNew) or not self._down:
            log.error("history write failed", url=self.path, failures=self.failures + count,
                      error=dsn.scrub(str(error).strip().splitlines()[0] if str(error) else
                                      type(error).__name__, self._url),
                      then="rows are lost until the database answers again (counted)")
        self._down = True
        self.failures += count

    def _resumed(self) -> None:
        if self._down:
            self._down = False
            log.info("history writes resumed", url=self.path, failures=self.failures)

    def _maybe_prune(self) -> None:
        now = self._clock()
        if now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        try:
            with self._pool.connection(timeout=CONNECT_WAIT) as conn, conn.transaction():
                removed = pgstore.prune(conn, now - self.keep)
        except Exception as exc:  # pruning is tried again later
            log.error("history prune failed", url=self.path, error=dsn.scrub(str(exc), self._url))
            return
        if removed:
            log.info("history pruned", rows=removed, keep=self.keep)


def _lost_link(exc: Exception) -> bool:
    """Whether the error is the connection's (the batch is lost) rather than one row's."""
    import psycopg

    return isinstance(exc, psycopg.OperationalError | versions.SchemaTooNew)


