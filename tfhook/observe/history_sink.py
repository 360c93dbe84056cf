"""The observer that writes calls and runs to the history.

A call's row is written, and awaited, before anything runs for it, so a crash leaves an
`unfinished` row; everything else is handed to the history's writer thread.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, fields

from tfhook.core.model import Event, Phase, Update
from tfhook.core.observer import Call, CallEnd, Decision, Observer, Run
from tfhook.history import Recorder, Ref
from tfhook.history.records import CallEnd as RowEnd
from tfhook.history.records import CallStart, DecisionRow, RunEnd, RunStart
from tfhook.hook import Instruction, Result, code_of, name_of
from tfhook.observe import redact

OUTPUT_MAX = 8 * 1024  # characters of a call's output kept in the history (its end)
# A call's row takes, as they are, the event's fields it has under the same name and type
# (the source, the resource, the job): both records declare them once.
_EVENT = {item.name: item.type for item in fields(Event)}
COPIED = tuple(item.name for item in fields(CallStart) if _EVENT.get(item.name) == item.type)
# Seconds a call waits for its row before its hook starts anyway (#24): past it, the row
# follows (in order: its end cannot pass it) and the lateness is counted.
ROW_WAIT = 0.2


@dataclass(eq=False)
class _Row:
    """A call's row while the call runs, and the end of its output."""

    ref: Ref
    output: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, text: str) -> None:
        """Keep the end of the output (a long run streams for many minutes)."""
        self.output.append(text)
        self.size += len(text)
        while self.size > 2 * OUTPUT_MAX and len(self.output) > 1:
            self.size -= len(self.output.pop(0))


class HistorySink(Observer):
    """Calls and runs, one row each, in the history database."""

    def __init__(self, history: Recorder) -> None:
        self.history = history

    async def call_start(self, call: Call) -> None:
        history = self.history
        event, routes = call.event, call.routes
        if history.requests:  # redacting a request can take a while: on the writer
            ref = history.begin_call(lambda: call_row(event, routes, keep=True))
        else:
            ref = history.start_call(call_row(event, routes, keep=False))
        call.history = _Row(ref)
        if ref.id is None:  # handed to the writer: wait until it is on disk, or ROW_WAIT
            try:
                await asyncio.wait_for(asyncio.shield(history.flush()), ROW_WAIT)
            except TimeoutError:
                history.late += 1

    def call_update(self, call: Call, update: Update) -> None:
        if update.log and call.history is not None:
            call.history.add(f"{update.status.name}: {update.log}")

    async def call_end(self, call: Call, end: CallEnd) -> None:
        row: _Row | None = call.history
        if row is None:
            return
        finished, reason = time.time(), end.reason

        def ended() -> RowEnd:  # on the writer thread: decoding a large request takes a while
            secrets = call.secrets
            if secrets is None and (row.output or reason):
                secrets = call.secrets = redact.request_secrets(call.event.request_json.get())
            secrets = secrets or []
            output = redact.scrub("\n".join(row.output)[-2 * OUTPUT_MAX:], secrets)
            return RowEnd(finished=finished, decision=end.decision, outcome=end.outcome,
                          duration=end.duration, run_id=end.run_id,
                          error=None if reason is None else redact.scrub(reason, secrets),
                          output=output[-OUTPUT_MAX:])

        self.history.end_call(row.ref, ended)

    async def run_start(self, run: Run) -> None:
        run.history = self.history.begin_run(RunStart(
            started=run.started, directory=run.directory, route=run.route,
            triggers=run.triggers))
        await self.history.flush()
        run.id = run.history.id

    def run_changed(self, run: Run) -> None:
        self.run_end(run)  # the same row, its outcome and why updated

    def run_end(self, run: Run) -> None:
        if run.history is not None:
            self.history.end_run(run.history, RunEnd(
                finished=time.time(), outcome=run.outcome, refreshed=run.refreshed,
                drifted=run.drifted, outputs_changed=run.outputs_changed, error=run.error))

    def decided(self, decision: Decision) -> None:
        self.history.decided(DecisionRow(
            time=decision.time, action=decision.action, run_id=decision.run,
            user=decision.user, outcome=decision.outcome, message=decision.message,
            directory=decision.directory, route=decision.route, peer=decision.peer))


def call_row(event: Event, routes: tuple[str, ...], *, keep: bool) -> CallStart:
    """The history row of a call as it starts (the request redacted, and only when kept)."""
    post = event.phase is Phase.POST_HANDLE
    return CallStart(
        time=event.received_at, phase=event.phase.value,
        **{name: getattr(event, name) for name in COPIED},
        result=name_of(code_of(Result, event.result)) if post else "",
        instruction="" if post else name_of(code_of(Instruction, event.instruction)),
        routes=routes,
        request=redact.redact_json(event.request_json.get()) if keep else None,
    )
