"""Runs the server asks for itself go through the pipeline: every observer sees them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from tfhook.config.settings import Settings
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.model import Action, Outcome
from tfhook.core.observer import Observer, Observers, Run
from tfhook.observe.logs import LogSink
from tfhook.runners import RunnerContext
from tfhook.runners.terraform import TerraformRunner


class Recorder(Observer):
    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.outcomes: list[Outcome] = []
        self.runs: list[Run] = []
        self.done = asyncio.Event()

    def route_start(self, action: Action) -> None:
        self.actions.append(action)

    def route_end(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.done.set()

    def run_end(self, run: Run) -> None:
        self.runs.append(run)


def test_a_start_up_refresh_is_observed_like_a_call(tmp_path: Path) -> None:
    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text('output "answer" {\n  value = 42\n}\n')
    hook = Hook("state", TerraformAction(dir=tf_dir, engine="embedded", refresh_on_start=True))

    async def scenario() -> Recorder:
        sink = Recorder()
        observer = Observers([sink, LogSink()])
        runner = TerraformRunner(hook, RunnerContext(Settings(), observer))
        await runner.start()
        await asyncio.wait_for(sink.done.wait(), 60)
        await runner.close()
        return sink

    with capture_logs() as logs:
        sink = asyncio.run(scenario())
    [action] = sink.actions
    assert (action.hook, action.trigger) == ("state", "refresh on start")  # a reason, no event
    [outcome] = sink.outcomes
    assert outcome.error is None and outcome.final is not None and outcome.final.name == "DONE"
    assert "answer: (new) → 42" in outcome.log
    [run] = sink.runs
    assert (run.route, run.triggers, run.outcome, run.events) == ("state", ("start",), "done", 0)
    # Its end is one log line, the run's.
    assert [e["event"] for e in logs if e["log_level"] != "debug"] == [
        "terraform engine", "background run started", "run done"]
    [done] = [e for e in logs if e["event"] == "run done"]
    assert (done["triggers"], done["route"], done["outputs_changed"]) == (
        "start", "state", "answer: (new) → 42")
