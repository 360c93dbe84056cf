"""`tfhook routes explain`: which routes a request would run, and why the others would not."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfhook.errors import UserError
from tfhook.hook import Instruction
from tfhook.hooks import Hook
from tfhook.model import Event, GoJson, Phase, Result
from tfhook.routing import code_name, miss

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def read_source(source: str) -> bytes:
    """--from-json: `-` for standard input, the JSON itself, or a file holding it."""
    if source == "-":
        return sys.stdin.buffer.read()
    if source.lstrip().startswith("{"):
        return source.encode("utf-8")
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise UserError(f"--from-json: cannot read {source}: {exc.strerror or exc}") from None


def event_from_json(text: bytes, phase: Phase | None) -> Event:
    """An Event from the JSON a hook receives (the reference's Go JSON) or protobuf JSON.

    Args:
        text: the request as JSON.
        phase: the phase, when the JSON cannot say (PreHandle and Handle look alike).

    Returns:
        The event, as the server would see it.

    Raises:
        UserError: not a JSON object, an unknown code, or no way to tell the phase.
    """
    try:
        raw: Any = json.loads(text)
    except ValueError as exc:
        raise UserError(f"the request is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise UserError("the request must be a JSON object")
    raw = {_snake(str(key)): value for key, value in raw.items()}
    if phase is None:
        if "result" not in raw and "current" not in raw:
            raise UserError("the request does not say its phase (it has no result or current): "
                            "give --phase pre-handle, handle or post-handle")
        phase = Phase.POST_HANDLE
    post = phase is Phase.POST_HANDLE
    return Event(
        phase=phase, source=str(raw.get("source", "")),
        resource_name=str(raw.get("resource_name", "")),
        scaling_job_id=str(raw.get("scaling_job_id", "")),
        instruction=0 if post else _code(Instruction, raw.get("instruction", 0), "instruction"),
        result=_code(Result, raw.get("result", 0), "result") if post else 0,
        resource_ids=(), request_json=GoJson(text),
        resource_type=_resource_type(raw.get("current" if post else "desired")),
    )


def explain(event: Event, hooks: Sequence[Hook]) -> str:
    """Lines naming each route: `run NAME`, or `skip NAME: the key that ruled it out`."""
    kind = event.resource_type or "(no resource)"
    code = (f"result {code_name(Result, event.result)}" if event.phase is Phase.POST_HANDLE
            else f"instruction {code_name(Instruction, event.instruction)}")
    lines = [f"{event.phase.rpc} {kind} {event.resource_name!r} (source {event.source!r}, "
             f"{code})"]
    runs = 0
    for hook in hooks:
        why = miss(event, hook.match)
        if why is None:
            runs += 1
            lines.append(f"run   {hook.name}" + (" (parallel)" if hook.parallel else ""))
        else:
            lines.append(f"skip  {hook.name}: {why}")
    if not runs:
        lines.append("no route runs: the call is answered IGNORED")
    return "\n".join(lines) + "\n"


def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _resource_type(value: Any) -> str:
    """`elb` from Go's `{"Resource": {"Elb": {...}}}` or protobuf JSON's `{"elb": {...}}`."""
    if not isinstance(value, dict):
        return ""
    inner = value.get("Resource", value)
    if not isinstance(inner, dict) or not inner:
        return ""
    return _snake(str(next(iter(inner))))


def _code(codes: type[Result] | type[Instruction], value: Any, field: str) -> int:
    if isinstance(value, str):
        try:
            return int(codes[value.upper().replace("-", "_")])
        except KeyError:
            raise UserError(f"{field}: {value!r} is not a known {field}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise UserError(f"{field}: {value!r} must be a name or a number")
