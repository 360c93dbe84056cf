"""Records every call through today's observer protocol (`model.Sink`).

The recording API (`History`) does not depend on this adapter, so the pipeline can
call it directly (and await the start) once routing gives each call its routes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from tfhook import redact
from tfhook.history.recorder import History
from tfhook.history.records import CallEnd, CallStart, Ref
from tfhook.hook import Instruction, Result, _code, name_of
from tfhook.model import Action, Outcome, Phase, Status, Update

OUTPUT_MAX = 8 * 1024  # characters of a call's output kept (the end: it says how it finished)
_OUTCOMES = {"ActionTimeout": "timeout", "CancelledError": "cancelled"}


@dataclass(slots=True)
class _Call:
    ref: Ref
    secrets: list[str]
    output: list[str] = field(default_factory=list)
    coalesced: bool = False


class HistorySink:
    """A `model.Sink` that writes a row when a call starts and completes it when it ends."""

    def __init__(self, history: History) -> None:
        self.history = history
        self._calls: dict[int, _Call] = {}

    def started(self, action: Action) -> None:
        request = _decode(action.event.request_json)
        start = call_start(action, request, keep_request=self.history.requests)
        self._calls[id(action)] = _Call(self.history.begin_call(start),
                                        redact.secret_values(request))

    def update(self, action: Action, update: Update) -> None:
        call = self._calls.get(id(action))
        if call is None:
            return
        if update.status is Status.ACCEPTED:
            call.coalesced = True  # queued behind a run in progress: it shares the next run
        if update.log:
            call.output.append(f"{update.status.name}: {update.log}")

    def finished(self, outcome: Outcome) -> None:
        call = self._calls.pop(id(outcome.action), None)
        if call is None:
            return
        output = redact.scrub("\n".join(call.output), call.secrets)[-OUTPUT_MAX:]
        error = None if outcome.error is None else redact.scrub(outcome.error, call.secrets)
        self.history.end_call(call.ref, CallEnd(
            finished=time.time(), decision=_decision(outcome, call), outcome=outcome_name(outcome),
            duration=outcome.duration, error=error, output=output,
        ))


def call_start(action: Action, request: Any, *, keep_request: bool) -> CallStart:
    """The row for a call as it starts (the request redacted, and only when kept)."""
    event = action.event
    post = event.phase is Phase.POST_HANDLE
    return CallStart(
        time=event.received_at, phase=event.phase.value, source=event.source,
        resource_type=resource_type(request), resource_name=event.resource_name,
        scaling_job_id=event.scaling_job_id,
        result=name_of(_code(Result, event.result)) if post else "",
        instruction="" if post else name_of(_code(Instruction, event.instruction)),
        routes=() if action.runner is None else (action.runner,),
        request=redact.redact_json(event.request_json) if keep_request else None,
    )


def outcome_name(outcome: Outcome) -> str:
    """done, ignored, empty, running, accepted; or failed, timeout, cancelled."""
    if outcome.error is not None:
        return _OUTCOMES.get(outcome.error_kind or "", "failed")
    return outcome.final.name.lower() if outcome.final is not None else "empty"


def resource_type(request: Any) -> str:
    """`elb`, `server_group_instance`…: the variant of the request's resource, or ""."""
    if not isinstance(request, dict):
        return ""
    resource = request.get("current", request.get("desired"))
    variants = resource.get("Resource") if isinstance(resource, dict) else None
    if not isinstance(variants, dict) or not variants:
        return ""
    go_name = next(iter(variants))
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in go_name).lstrip("_")


def _decision(outcome: Outcome, call: _Call) -> str:
    if outcome.action.runner is None:
        return "ignored"
    return "coalesced" if call.coalesced else "ran"


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return {}

