"""The pipeline in generic mode: plan by phase, execute through a runner, tell the sinks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tfhook.config import Settings
from tfhook.errors import ActionFailed
from tfhook.model import Action, Event, GoJson, Outcome, Phase, Status, Update
from tfhook.pipeline import Pipeline, plan


def event(phase: Phase) -> Event:
    return Event(phase=phase, source="s", resource_name="r", scaling_job_id="j", instruction=0,
                 result=1, resource_ids=(), request_json=GoJson(b"{}"))


SETTINGS = Settings(executable=Path("/bin/true"), handler_type=Phase.HANDLE)


@pytest.mark.parametrize("phase", list(Phase))
def test_plan_runs_only_the_configured_phase(phase: Phase) -> None:
    action = plan(event(phase), SETTINGS)
    if phase is Phase.HANDLE:
        assert action.runner == "executable"
    else:
        assert action.runner is None
        assert action.announce is False  # the reference answers with an empty stream


class Recorder:
    def __init__(self) -> None:
        self.seen: list[object] = []
        self.outcomes: list[Outcome] = []

    def started(self, action: Action) -> None:
        self.seen.append("started")

    def update(self, action: Action, update: Update) -> None:
        self.seen.append(update.status)

    def finished(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


class Broken:
    def started(self, action: Action) -> None:
        raise RuntimeError("sink bug")

    update = finished = started  # type: ignore[assignment]


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


def execute(pipeline: Pipeline, action: Action) -> list[Update]:
    async def main() -> list[Update]:
        return [update async for update in pipeline.execute(action)]

    return asyncio.run(main())


def test_execute_yields_updates_and_reports_success() -> None:
    sink = Recorder()
    pipeline = Pipeline(SETTINGS, {"executable": Runner()}, [Broken(), sink])
    action = pipeline.plan(event(Phase.HANDLE))
    assert [u.status for u in execute(pipeline, action)] == [Status.RUNNING, Status.DONE]
    assert sink.seen == ["started", Status.RUNNING, Status.DONE]
    [outcome] = sink.outcomes
    assert (outcome.final, outcome.error, outcome.error_kind) == (Status.DONE, None, None)


def test_skipped_phase_is_an_empty_stream() -> None:
    sink = Recorder()
    pipeline = Pipeline(SETTINGS, {"executable": Runner()}, [sink])
    assert execute(pipeline, pipeline.plan(event(Phase.POST_HANDLE))) == []
    [outcome] = sink.outcomes
    assert outcome.action.runner is None and outcome.error is None


@pytest.mark.parametrize("error", [ActionFailed("hook failed"), RuntimeError("bug in a runner")])
def test_errors_reach_the_sinks_as_errors(error: BaseException) -> None:
    sink = Recorder()
    pipeline = Pipeline(SETTINGS, {"executable": Runner(error)}, [sink])
    with pytest.raises(type(error)):
        execute(pipeline, pipeline.plan(event(Phase.HANDLE)))
    [outcome] = sink.outcomes
    assert outcome.final is None
    assert outcome.error == str(error)
    assert outcome.error_kind == type(error).__name__
