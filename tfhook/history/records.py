"""What the history records: the start and the end of calls and runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# The request's fields a call records, in the calls table's order: CallStart's fields of the
# same names and the table's text columns ('' when the request has none). Both stores' DDL
# and inserts are made from it.
EVENT = ("source", "resource_type", "resource_name", "scaling_job_id", "result", "instruction")
# A call's resource as listings show it: its type, then its name.
RESOURCE = EVENT[1:3]


@dataclass(frozen=True, slots=True)
class CallStart:
    """A call as it arrives, before anything runs.

    `result` and `instruction` are names (`UPDATED`, `CREATE`); `request` is the redacted
    request JSON, or None when requests are not kept.
    """

    time: float
    phase: str
    source: str = ""
    resource_type: str = ""
    resource_name: str = ""
    scaling_job_id: str = ""
    result: str = ""
    instruction: str = ""
    routes: tuple[str, ...] = ()
    request: str | None = None


@dataclass(frozen=True, slots=True)
class CallEnd:
    """How a call ended.

    `decision` is `ran`, `ignored` or `coalesced` (then `run_id` is the run it shared);
    `outcome` is `done`, `ignored`, `empty`, `failed`, `timeout` or `cancelled`.
    """

    finished: float
    decision: str
    outcome: str
    duration: float
    error: str | None = None
    output: str = ""
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class RunStart:
    """A Terraform (or other background) run as it starts; triggers: event, start, reconcile, retry."""

    started: float
    directory: str
    route: str = ""
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How a run ended and what it changed (resource addresses, output names)."""

    finished: float
    outcome: str
    refreshed: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    outputs_changed: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """An operator's decision (#21): approve, deny or rollback of a run, by whom, and how it
    ended (`done`, `refused`, `failed`, `cancelled`; `message` says what or why)."""

    time: float
    action: str
    run_id: int
    user: str
    outcome: str
    message: str = ""
    directory: str = ""
    route: str = ""
    peer: str = ""


def event_columns(kind: str) -> str:
    """The EVENT columns' DDL, each `NAME KIND NOT NULL DEFAULT ''` (`kind`: the store's text type)."""
    return ", ".join(f"{name} {kind} NOT NULL DEFAULT ''" for name in EVENT)


def event_values(call: CallStart) -> tuple[str, ...]:
    """The call's EVENT fields, in the columns' order."""
    return tuple(getattr(call, name) for name in EVENT)


@dataclass(slots=True)
class Ref:
    """The row a start wrote; `id` is set by the writer (None when the write failed)."""

    id: int | None = None


class Recorder(Protocol):
    """What observers write through: `History` (SQLite) or `FleetHistory` (PostgreSQL)."""

    requests: bool
    failures: int
    late: int

    @property
    def path(self) -> object:
        """Where it is, as logs show it."""

    def start_call(self, call: CallStart) -> Ref: ...
    def begin_call(self, call: CallStart | Callable[[], CallStart]) -> Ref: ...
    def end_call(self, ref: Ref, end: CallEnd | Callable[[], CallEnd]) -> None: ...
    def begin_run(self, run: RunStart) -> Ref: ...
    def end_run(self, ref: Ref, end: RunEnd) -> None: ...
    def decided(self, row: DecisionRow) -> None: ...
    async def flush(self) -> None: ...
    def close(self) -> None: ...
