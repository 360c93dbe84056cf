"""The pipeline: route, execute through runners, tell the observer; several routes combined."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from support.servers import HANG_GUARD

from tfhook.core.hooks import ExecutableAction, Hook, Match
from tfhook.core.model import Action, Event, GoJson, Outcome, Phase, ResourceIds, Status, Update
from tfhook.core.observer import Call, CallEnd, Observer, Observers
from tfhook.core.pipeline import Pipeline
from tfhook.core.table import Table
from tfhook.errors import ActionFailed, ActionTimeout, LockHeld


def event(phase: Phase) -> Event:
    return Event(phase=phase, source="s", resource_name="r", scaling_job_id="j", instruction=0,
                 result=1, resource_ids=ResourceIds(), request_json=GoJson(b"{}"))


def hook(name: str, phase: Phase | None = Phase.HANDLE, parallel: bool = False) -> Hook:
    match = Match(phase=frozenset({phase})) if phase else Match()
    return Hook(name, ExecutableAction(Path("/bin/true")), match, parallel=parallel)


def pipeline(runners: dict[str, object], observers=(), announce: bool = False,
             parallel: frozenset[str] = frozenset()) -> Pipeline:
    hooks = tuple(hook(name, None if len(runners) > 1 else Phase.HANDLE, name in parallel)
                  for name in runners)
    return Pipeline(Table(hooks, runners, announce), Observers(observers))  # type: ignore[arg-type]


@pytest.mark.parametrize("phase", list(Phase))
def test_plan_runs_only_the_configured_phase(phase: Phase) -> None:
    [action] = pipeline({"executable": Runner()}).plan(event(phase))
    if phase is Phase.HANDLE:
        assert action.hook == "executable"
    else:
        assert action.hook is None
        assert action.announce is False  # the reference answers with an empty stream


class Recorder(Observer):
    def __init__(self) -> None:
        self.seen: list[object] = []
        self.outcomes: list[Outcome] = []

    async def call_start(self, call: Call) -> None:
        self.seen.append("call")

    def call_update(self, call: Call, update: Update) -> None:
        self.seen.append(f"answered {update.status.name}")

    async def call_end(self, call: Call, end: CallEnd) -> None:
        self.seen.append(f"call {end.outcome}")

    def route_start(self, action: Action) -> None:
        self.seen.append("started")

    def route_update(self, action: Action, update: Update) -> None:
        self.seen.append(update.status)

    def route_end(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


class Broken(Observer):
    """Fails at every step: the call is answered all the same."""

    async def call_start(self, call: Call) -> None:
        raise RuntimeError("observer bug")

    def route_start(self, action: Action) -> None:
        raise RuntimeError("observer bug")

    def call_update(self, call: Call, update: Update) -> None:
        raise RuntimeError("observer bug")

    def route_update(self, action: Action, update: Update) -> None:
        raise RuntimeError("observer bug")

    def route_end(self, outcome: Outcome) -> None:
        raise RuntimeError("observer bug")

    async def call_end(self, call: Call, end: CallEnd) -> None:
        raise RuntimeError("observer bug")


class Runner:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def run(self, action: Action):
        yield Update(Status.RUNNING, "working")
        if self.error is not None:
            raise self.error
        yield Update(Status.DONE, "ok")


def handle(pipeline: Pipeline, phase: Phase = Phase.HANDLE) -> list[Update]:
    async def main() -> list[Update]:
        return [update async for update in pipeline.handle(event(phase))]

    return asyncio.run(main())


def test_execute_yields_updates_and_reports_success() -> None:
    sink = Recorder()
    served = pipeline({"executable": Runner()}, [Broken(), sink])
    with capture_logs() as logs:
        assert [u.status for u in handle(served)] == [Status.RUNNING, Status.DONE]
    # In order: the call, its route's start and updates, what the Core was answered.
    assert sink.seen == ["call", "started", Status.RUNNING, "answered RUNNING", Status.DONE,
                         "answered DONE", "call done"]
    assert [e["event"] for e in logs] == ["observer failed"] * 8  # each step, logged only
    [outcome] = sink.outcomes
    assert (outcome.final, outcome.error, outcome.error_kind) == (Status.DONE, None, None)


def test_skipped_phase_is_an_empty_stream() -> None:
    sink = Recorder()
    assert handle(pipeline({"executable": Runner()}, [sink]), Phase.POST_HANDLE) == []
    [outcome] = sink.outcomes
    assert outcome.action.hook is None and outcome.error is None


@pytest.mark.parametrize("error", [ActionFailed("hook failed"), RuntimeError("bug in a runner")])
def test_errors_reach_the_sinks_as_errors(error: BaseException) -> None:
    sink = Recorder()
    with pytest.raises(type(error)):
        handle(pipeline({"executable": Runner(error)}, [sink]))
    [outcome] = sink.outcomes
    assert outcome.final is None
    assert outcome.error == str(error)
    assert outcome.error_kind == type(error).__name__


# -- several routes ------------------------------------------------------------------------


class Gated:
    """A runner that marks its start, waits for a gate, then marks its end."""

    def __init__(self, marks: list[str], name: str, gate: asyncio.Event | None = None,
                 opens: asyncio.Event | None = None, error: Exception | None = None) -> None:
        self.marks, self.name, self.gate, self.opens, self.error = marks, name, gate, opens, error

    async def start(self, background) -> None:
        return None

    async def close(self) -> None:
        return None

    async def run(self, action: Action):
        self.marks.append(f"{self.name} start")
        yield Update(Status.RUNNING, "working")
        if self.opens is not None:
            self.opens.set()
        if self.gate is not None:
            await self.gate.wait()
        self.marks.append(f"{self.name} end")
        if self.error is not None:
            raise self.error
        yield Update(Status.DONE, f"{self.name} finished\nsecond line")


def run_all(runners: dict[str, object], parallel: frozenset[str] = frozenset(),
            sinks=()) -> list[Update]:
    return handle(pipeline(runners, sinks, parallel=parallel))


def test_several_routes_run_in_file_order_labelled_with_one_combined_done() -> None:
    marks: list[str] = []
    sink = Recorder()
    updates = run_all({"a": Gated(marks, "a"), "b": Gated(marks, "b")}, sinks=[sink])
    assert marks == ["a start", "a end", "b start", "b end"]
    assert [(u.status, u.log) for u in updates] == [
        (Status.RUNNING, "[a] working"), (Status.RUNNING, "[a] a finished\nsecond line"),
        (Status.RUNNING, "[b] working"), (Status.RUNNING, "[b] b finished\nsecond line"),
        (Status.DONE, "2 routes done\n[a] done: a finished\n[b] done: b finished"),
    ]
    assert [o.action.hook for o in sink.outcomes] == ["a", "b"]  # every route is observed


def test_a_parallel_route_runs_alongside_the_others() -> None:
    # `slow` (parallel, first in the file) waits until `fast` has started: only possible
    # when both run at once. The marks' order shows it, not the clock.
    async def main() -> list[str]:
        marks: list[str] = []
        gate = asyncio.Event()
        runners = {"slow": Gated(marks, "slow", gate=gate), "fast": Gated(marks, "fast",
                                                                         opens=gate)}
        served = pipeline(runners, parallel=frozenset({"slow"}))
        [u async for u in served.handle(event(Phase.HANDLE))]
        return marks

    assert asyncio.run(main()) == ["slow start", "fast start", "fast end", "slow end"]


def test_failed_routes_are_all_named_with_the_first_failures_class() -> None:
    marks: list[str] = []
    runners = {"ok": Gated(marks, "ok"),
               "locked": Gated(marks, "locked", error=LockHeld("lock held by x\ndetail")),
               "slow": Gated(marks, "slow", error=ActionTimeout("timed out after 1s"))}
    sink = Recorder()
    with pytest.raises(LockHeld) as info:
        run_all(runners, sinks=[sink])
    assert str(info.value) == ("2 of 3 routes failed: locked, slow\n[locked] lock held by x\n"
                               "[locked] detail\n[slow] timed out after 1s")
    assert marks == ["ok start", "ok end", "locked start", "locked end", "slow start",
                     "slow end"]  # a failure does not stop the routes after it
    assert [(o.action.hook, o.error_kind) for o in sink.outcomes] == [
        ("ok", None), ("locked", "LockHeld"), ("slow", "ActionTimeout")]


def test_no_route_matching_is_one_ignored_naming_each_route() -> None:
    hooks = (hook("a", Phase.PRE_HANDLE), hook("b", Phase.HANDLE))
    served = Pipeline(Table(hooks, {}, True), Observers())
    updates = asyncio.run(_collect(served, event(Phase.POST_HANDLE)))
    assert [(u.status, u.log) for u in updates] == [(
        Status.IGNORED, "PostHandle: no route matches (a: phase post-handle is not pre-handle; "
        "b: phase post-handle is not handle)")]


async def _collect(served: Pipeline, e: Event) -> list[Update]:
    return [u async for u in served.handle(e)]


def test_an_answered_calls_end_is_recorded_after_it_and_a_failure_there_is_logged() -> None:
    order: list[str] = []

    class Ending(Observer):
        async def call_end(self, call: Call, end: CallEnd) -> None:
            order.append("end recorded")
            raise RuntimeError("observer bug")

    served = Pipeline(Table((hook("executable"),), {"executable": Runner()}, False),
                      observer=Ending())  # type: ignore[arg-type]

    async def main() -> None:
        async for update in served.handle(event(Phase.HANDLE)):
            order.append(update.status.name)
        order.append("answered")
        await served.wait_idle([], timeout=HANG_GUARD)  # what shutdown waits for

    with capture_logs() as logs:
        asyncio.run(main())
    assert order == ["RUNNING", "DONE", "answered", "end recorded"]
    assert [(e["event"], e["error"]) for e in logs] == [
        ("recording a call's end failed", "RuntimeError('observer bug')")]
