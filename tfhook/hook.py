"""Helper for Python hook scripts: read the request tfhook sends, name its codes, answer.

Standard library only, and nothing newer than Python 3.7 outside annotations, so a hook that
imports it runs with any python3, even one without tfhook installed: `tfhook init --kind python` copies this
file next to the hook as `tfhook_hook.py`.

tfhook runs a hook with the request JSON on standard input (and as argv[1] when it fits). The
JSON is the reference handler's: snake_case keys, zero values left out, enums as numbers.
Exit 0 answers DONE and what the hook printed becomes the log; any other exit fails the call.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn, TypeVar

_E = TypeVar("_E", bound=enum.IntEnum)


class Result(enum.IntEnum):
    """PostHandle `result`: what the Core did to the resource."""

    UNKNOWN = 0
    CREATED = 1
    UPDATED = 2
    DELETED = 3
    NO_CHANGE = 4


class Instruction(enum.IntEnum):
    """PreHandle/Handle `instruction`: what the Core is about to do."""

    UNKNOWN = 0
    CREATE = 1
    UPDATE = 2
    DELETE = 3
    NOOP = 4


# The results after which the documented Terraform pattern refreshes state.
CHANGED = frozenset({Result.CREATED, Result.UPDATED, Result.DELETED})


@dataclass(frozen=True)
class Resource:
    """One `{"Resource": {"<Kind>": {...}}}` value.

    `kind` is the Go name of the variant: Server, ServerGroupInstance, Elb, Gslb, Dns, Router
    or LoadBalancer; "" when the Core sent a resource with none set.
    """

    kind: str
    fields: Mapping[str, Any]
    parent: Resource | None = None

    @property
    def id(self) -> str:
        return str(self.fields.get("id", ""))

    @property
    def name(self) -> str:
        return str(self.fields.get("name", ""))

    @property
    def zone(self) -> str:
        """The zone, or the region for an ELB."""
        return str(self.fields.get("zone") or self.fields.get("region") or "")

    @classmethod
    def from_json(cls, value: Any) -> Resource | None:
        """The resource in a decoded `desired`, `current` or `parent` value, or None."""
        if not isinstance(value, dict):
            return None
        variants = value.get("Resource") or {}
        if not isinstance(variants, dict) or not variants:
            return cls("", {})
        kind, fields = next(iter(variants.items()))
        fields = fields if isinstance(fields, dict) else {}
        return cls(kind, fields, cls.from_json(fields.get("parent")))


@dataclass(frozen=True)
class Request:
    """A decoded request; `resource` is `desired` (PreHandle, Handle) or `current` (PostHandle)."""

    source: str = ""
    resource_name: str = ""
    scaling_job_id: str = ""
    instruction: Instruction | int = Instruction.UNKNOWN
    result: Result | int = Result.UNKNOWN
    resource: Resource | None = None
    setup_grace_period: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True for PostHandle results CREATED, UPDATED and DELETED."""
        return self.result in CHANGED

    @property
    def resource_ids(self) -> tuple[str, ...]:
        """The cloud ids the request carries: the resource's, then its parents'."""
        ids: list[str] = []
        resource = self.resource
        while resource is not None:
            if resource.id:
                ids.append(resource.id)
            resource = resource.parent
        return tuple(ids)

    def describe(self) -> str:
        """One line for logs, such as `elb (Elb 113300000001) result UPDATED job job-1`."""
        parts = [self.resource_name or "(no name)"]
        if self.resource is not None and self.resource.kind:
            parts.append(f"({self.resource.kind} {self.resource.id or '-'})")
        if "result" in self.raw or "current" in self.raw:
            parts.append(f"result {name_of(self.result)}")
        if "instruction" in self.raw or "desired" in self.raw:
            parts.append(f"instruction {name_of(self.instruction)}")
        if self.scaling_job_id:
            parts.append(f"job {self.scaling_job_id}")
        return " ".join(parts)


def name_of(code: int) -> str:
    """`UPDATED` for Result.UPDATED; the number itself for codes outside the enum."""
    return code.name if isinstance(code, enum.IntEnum) else str(code)


def parse_request(data: str | bytes) -> Request:
    """Decode request JSON; empty input is the all-zero request `{}`.

    Raises:
        ValueError: the data is not a JSON object.
    """
    raw = json.loads(data or "{}")
    if not isinstance(raw, dict):
        raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
    return Request(
        source=str(raw.get("source", "")),
        resource_name=str(raw.get("resource_name", "")),
        scaling_job_id=str(raw.get("scaling_job_id", "")),
        instruction=code_of(Instruction, raw.get("instruction", 0)),
        result=code_of(Result, raw.get("result", 0)),
        resource=Resource.from_json(raw.get("desired", raw.get("current"))),
        setup_grace_period=int(raw.get("setup_grace_period", 0)),
        raw=raw,
    )


def read_request(stream: IO[bytes] | None = None) -> Request:
    """Read and decode the request from standard input; exit 2 with a message if it is bad."""
    data = (stream or sys.stdin.buffer).read()
    try:
        return parse_request(data)
    except ValueError as exc:
        fail(f"the request on standard input is not valid JSON: {exc}", code=2)


def log(*parts: object) -> None:
    """Print a line to standard output, which becomes the log of the DONE answer."""
    print(*parts, flush=True)


def done(message: str = "") -> NoReturn:
    """Answer DONE, with `message` added to the log, and end the hook."""
    if message:
        log(message)
    sys.exit(0)


def skip(reason: str) -> NoReturn:
    """Nothing to do: log `ignored: reason` and end the hook successfully (DONE)."""
    done(f"ignored: {reason}")


def fail(message: str, code: int = 1) -> NoReturn:
    """Fail the call: print `message` to standard error and exit with `code` (not 0)."""
    print(message, file=sys.stderr, flush=True)
    sys.exit(code or 1)


def code_of(enum_type: type[_E], value: Any) -> _E | int:
    """`value` as a member of `enum_type` (Result or Instruction), or as the number itself when
    no member has it: `name_of(code_of(Result, 9))` is "9", as the Core may send new codes."""
    try:
        return enum_type(value)
    except ValueError:
        return int(value)
