"""What both history stores (SQLite, PostgreSQL) do alike: each row's write handed to the
store's one writer thread, in order, a completion after the start it completes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from tfhook.history.records import CallEnd, CallStart, DecisionRow, Ref, RunEnd, RunStart
from tfhook.history.writer import Writer

Write = Callable[[Any], "int | None"]  # a start returns its row's id


@dataclass(frozen=True, slots=True)
class Job:
    write: Write | None  # None: nothing to write (a store may use it as a heartbeat)
    made: Ref | None = None  # the row this job starts
    after: Ref | None = None  # the row this job completes

    def wanted(self, made_here: set[int]) -> bool:
        """Whether the job still has work: a completion needs its start written (a start
        that failed was counted; its completion is not another failure)."""
        return self.after is None or self.after.id is not None or id(self.after) in made_here


class Store(Protocol):
    """The row writes of one store (tfhook.history.store, tfhook.history.pgstore)."""

    def insert_call(self, conn: Any, call: CallStart) -> int: ...
    def finish_call(self, conn: Any, call_id: int, end: CallEnd) -> None: ...
    def insert_run(self, conn: Any, run: RunStart) -> int: ...
    def finish_run(self, conn: Any, run_id: int, end: RunEnd) -> None: ...
    def insert_decision(self, conn: Any, row: DecisionRow) -> int: ...


class Rows:
    """The writes of a history, queued to its writer thread. A store's class sets `store`,
    `requests` (whether a call's request is kept), `_writer` and `_pending` (row ids
    written in the transaction being committed)."""

    store: Store
    requests: bool
    _writer: Writer[Job]
    _pending: dict[int, int]

    def begin_call(self, call: CallStart | Callable[[], CallStart]) -> Ref:
        """Write a call's row; `call` may be a function, then the writer thread builds it."""
        ref = Ref()

        def write(conn: Any) -> int:
            start = call() if callable(call) else call
            if not self.requests and start.request is not None:
                start = replace(start, request=None)
            return self.store.insert_call(conn, start)

        self._writer.put(Job(write, made=ref))
        return ref

    def end_call(self, ref: Ref, end: CallEnd | Callable[[], CallEnd]) -> None:
        """Complete a call's row (`end` may be a function, as for begin_call)."""
        self._writer.put(Job(lambda conn: self.store.finish_call(
            conn, self._row(ref), end() if callable(end) else end), after=ref), urgent=False)

    def begin_run(self, run: RunStart) -> Ref:
        ref = Ref()
        self._writer.put(Job(lambda conn: self.store.insert_run(conn, run), made=ref))
        return ref

    def end_run(self, ref: Ref, end: RunEnd) -> None:
        self._writer.put(Job(lambda conn: self.store.finish_run(conn, self._row(ref), end),
                             after=ref))

    def decided(self, row: DecisionRow) -> None:
        """Record an operator's decision (#21)."""
        self._writer.put(Job(lambda conn: self.store.insert_decision(conn, row)))

    # Awaited: the row is written (or the failure counted) when these return.

    async def call_started(self, call: CallStart) -> Ref:
        ref = self.begin_call(call)
        await self.flush()
        return ref

    async def call_finished(self, ref: Ref, end: CallEnd) -> None:
        self.end_call(ref, end)
        await self.flush()

    async def flush(self) -> None:
        """Wait until every write handed over so far is done."""
        await self._writer.drained()

    def _commit_jobs(self, jobs: list[Job], transaction: AbstractContextManager[Any]) -> None:
        """Write `jobs` in order within `transaction` (the store's: it yields the connection
        and commits at its end); then the rows started get their ids (an id seen means the
        row is on disk)."""
        self._pending = {}
        try:
            with transaction as conn:
                for job in jobs:
                    if job.write is not None and (job.after is None or self._known(job.after)):
                        row = job.write(conn)
                        if job.made is not None and row is not None:
                            self._pending[id(job.made)] = row
            for job in jobs:
                if job.made is not None and id(job.made) in self._pending:
                    job.made.id = self._pending[id(job.made)]
        finally:
            self._pending = {}

    def _known(self, ref: Ref) -> bool:
        return ref.id is not None or id(ref) in self._pending

    def _row(self, ref: Ref) -> int:
        """The id of a started row, committed or written earlier in this transaction."""
        row = ref.id if ref.id is not None else self._pending.get(id(ref))
        assert row is not None  # the commit checked it
        return row
