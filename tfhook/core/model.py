"""Plain records that flow through the pipeline; nothing here knows about gRPC."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

# One definition of the wire's result codes: the stdlib-only helper that hooks use.
from tfhook.hook import Instruction, Result, code_of, name_of

__all__ = ["Action", "Event", "GoJson", "Outcome", "Phase", "ResourceIds", "Result", "Status",
           "Trigger", "Update"]


class Phase(enum.Enum):
    """The three handler phases, named as the reference handler's phase values."""

    PRE_HANDLE = "pre-handle"
    HANDLE = "handle"
    POST_HANDLE = "post-handle"

    @property
    def rpc(self) -> str:
        return {"pre-handle": "PreHandle", "handle": "Handle", "post-handle": "PostHandle"}[
            self.value
        ]


class Status(enum.IntEnum):
    """HandleResponse.Status values (mirrors the wire enum)."""

    RECEIVED = 11
    ACCEPTED = 12
    RUNNING = 13
    DONE = 14
    IGNORED = 15


# A request whose protobuf is larger than this has its Go JSON built in a worker thread:
# building 250 KB of JSON takes tens of milliseconds, which other calls must not wait for.
OFF_LOOP_BYTES = 16 * 1024


class GoJson:
    """A request's Go JSON, built only when something needs it, and only once.

    Terraform mode and skipped phases never need it; a hook always does.
    """

    __slots__ = ("_build", "_data", "_pending", "size_hint")

    def __init__(self, build: Callable[[], bytes] | bytes, size_hint: int = 0) -> None:
        self._data = build if isinstance(build, bytes) else None
        self._build = None if isinstance(build, bytes) else build
        self._pending: asyncio.Future[bytes] | None = None
        self.size_hint = size_hint

    def get(self) -> bytes:
        """The bytes, built here (on the calling thread) if not built yet."""
        if self._data is None:
            assert self._build is not None
            self._data = self._build()
            self._build = None  # it holds the parsed request: let it go
        return self._data

    async def get_async(self) -> bytes:
        """The bytes; a large request is built in a worker thread, off the event loop."""
        if self._data is not None or self.size_hint <= OFF_LOOP_BYTES:
            return self.get()
        import asyncio  # here: `tfhook terraform` imports this module and needs no event loop

        if self._pending is None:
            self._pending = asyncio.ensure_future(asyncio.to_thread(self.get))
        return await asyncio.shield(self._pending)

    def __repr__(self) -> str:  # never the body: it can hold passwords and SSH keys
        return f"GoJson(size_hint={self.size_hint}, built={self._data is not None})"


@dataclass(frozen=True, slots=True)
class ResourceIds:
    """The cloud ids a request carries, each for what it is: the resource's `own` id and its
    `parent`'s ("" when the request has none). Only `own` names the object a DELETED event
    says is gone: a server's parent ELB is still there."""

    own: str = ""
    parent: str = ""

    def values(self) -> tuple[str, ...]:
        """The ids that are set, the resource's first."""
        return tuple(ident for ident in (self.own, self.parent) if ident)


@dataclass(frozen=True, slots=True)
class Event:
    """One call from the Core, decoded.

    `request_json` is exactly what the reference handler gives an executable, built on
    first use.
    `resource_ids` are the cloud ids the request carries (the resource's own, its parent's);
    `resource_type` is the request's resource variant (`elb`, `server`...; "" when none).
    Never log `request_json`: it can hold passwords and SSH keys.
    """

    phase: Phase
    source: str
    resource_name: str
    scaling_job_id: str
    instruction: int
    result: int
    resource_ids: ResourceIds
    request_json: GoJson
    resource_type: str = ""
    received_at: float = field(default_factory=time.time)

    def describe(self) -> dict[str, object]:
        """Fields that are safe to log (no request body; long names cut short)."""
        return {
            "phase": self.phase.value,
            "source": _short(self.source),
            "resource": _short(self.resource_name),
            "type": self.resource_type,
            "job": _short(self.scaling_job_id),
            # By name, as the flags and the history spell them (a code outside the enum as
            # its number): PostHandle carries a result, the other phases an instruction.
            **({"result": name_of(code_of(Result, self.result))}
               if self.phase is Phase.POST_HANDLE
               else {"instruction": name_of(code_of(Instruction, self.instruction))}),
        }


def _short(text: str, most: int = 120) -> str:
    """A field for a log line: a request may carry a name of any length."""
    return text if len(text) <= most else f"{text[:most]}…({len(text)} characters)"


# What a run is for: a call from the Core (its Event), or the reason the server itself
# asked for it (`refresh on start`, `reconcile`, `retry after failure`).
Trigger = Event | str


def describe(trigger: Trigger) -> dict[str, object]:
    """A trigger's fields that are safe to log."""
    return trigger.describe() if isinstance(trigger, Event) else {"trigger": trigger}


@dataclass(frozen=True, slots=True)
class Action:
    """What the pipeline decided to do with a trigger.

    `hook` names the hook (route) that runs; None means run nothing. A skipped event
    is answered with one IGNORED carrying `reason` when `announce` is true, or
    with an empty stream (the reference's behaviour) when it is false.
    """

    trigger: Trigger
    hook: str | None
    reason: str = ""
    announce: bool = True
    # The runs that served this action (`flight.Batch`es), for the history's run ids.
    served: list[Any] = field(default_factory=list, compare=False, repr=False)

    @property
    def event(self) -> Event:
        """The call this action answers (a runner of calls only: never a background run)."""
        if not isinstance(self.trigger, Event):
            raise TypeError(f"a background run ({self.trigger}) has no event")
        return self.trigger


# How an error ends a call, as history, logs and metrics name it (anything else: failed).
_ERROR_OUTCOMES = {"ActionTimeout": "timeout", "CancelledError": "cancelled",
                   "GeneratorExit": "cancelled"}  # GeneratorExit: the client hung up


def outcome_name(final: Status | None, error_kind: str | None) -> str:
    """done, ignored, empty…; or failed, timeout, cancelled when `error_kind` is set."""
    if error_kind is not None:
        return _ERROR_OUTCOMES.get(error_kind, "failed")
    return final.name.lower() if final is not None else "empty"


@dataclass(frozen=True, slots=True)
class Update:
    """One message of the response stream."""

    status: Status
    log: str = ""
    reverts: int = 0  # changes the next apply would make back (a refresh's DONE; #12)
    # What observers count, as data rather than read back from the text: an ACCEPTED
    # queued behind the run in progress (it shares the next run), and a DONE that answers
    # a failure because the hook is set to warn.
    queued: bool = False
    warned: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one route's action ended, for observers."""

    action: Action
    final: Status | None
    error: str | None
    error_kind: str | None
    duration: float
    log: str = ""  # the final update's log
