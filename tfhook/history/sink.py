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
    secrets: list[str] = field(default_factory=list)  # filled in by the writer thread
    output: list[str] = field(default_factory=list)
    size: int = 0
    coalesced: bool = False

    def add(self, text: str) -> None:
        """Keep the end of the output (a long run streams for many minutes)."""
        self.output.append(text)
        self.size += len(text)
        while self.size > 2 * OUTPUT_MAX and len(self.output) > 1:
            self.size -= len(self.output.pop(0))


class HistorySink:
    """A `model.Sink` that writes a row when a call starts and completes it when it ends.

    On the event loop it only keeps what streams by; decoding the request, redacting and
    scrubbing happen on the history's writer thread.
    """

    def __init__(self, history: History) -> None:
        self.history = history
        self._calls: dict[int, _Call] = {}

    def started(self, action: Action) -> None:
        call = _Call(Ref())

        def start() -> CallStart:
            request = _decode(action.event.request_json.get())
            call.secrets = redact.secret_values(request)
            return call_start(action, request, keep_request=self.history.requests)

        call.ref = self.history.begin_call(start)
        self._calls[id(action)] = call

    def update(self, action: Action, update: Update) -> None:
        call = self._calls.get(id(action))
        if call is None:
            return
        if update.status is Status.ACCEPTED:
            call.coalesced = True  # queued behind a run in progress: it shares the next run
        if update.log:
            call.add(f"{update.status.name}: {update.log}")

    def finished(self, outcome: Outcome) -> None:
        call = self._calls.pop(id(outcome.action), None)
        if call is None:
            return
        finished = time.time()

        def end() -> CallEnd:
            output = redact.scrub("\n".join(call.output)[-2 * OUTPUT_MAX:], call.secrets)
            error = None if outcome.error is None else redact.scrub(outcome.error, call.secrets)
            return CallEnd(finished=finished, decision=_decision(outcome, call),
                           outcome=outcome_name(outcome), duration=outcome.duration,
                           error=error, output=output[-OUTPUT_MAX:])

        self.history.end_call(call.ref, end)


def call_start(action: Action, request: Any, *, keep_request: bool) -> CallStart:
    """The row for a call as it starts (the request redacted, and only when kept)."""
    event = action.event
    post = event.phase is Phase.POST_HANDLE
    return CallStart(
        time=event.received_at, phase=event.phase.value, source=event.source,
        resource_type=event.resource_type or resource_type(request), resource_name=event.resource_name,
        scaling_job_id=event.scaling_job_id,
        result=name_of(_code(Result, event.result)) if post else "",
        instruction="" if post else name_of(_code(Instruction, event.instruction)),
        routes=() if action.hook is None else (action.hook,),
        request=redact.redact_json(event.request_json.get()) if keep_request else None,
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
    if outcome.action.hook is None:
        return "ignored"
    return "coalesced" if call.coalesced else "ran"


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return {}

