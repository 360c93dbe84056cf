"""Runs the server asks for itself go through the pipeline: every observer sees them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from tfhook.config.settings import Settings
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.model import Action, Outcome, Update
from tfhook.core.pipeline import Pipeline
from tfhook.core.table import Table
from tfhook.observe.logs import LogSink
from tfhook.runners.terraform import TerraformRunner


class Recorder:
    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.outcomes: list[Outcome] = []
        self.done = asyncio.Event()

    def started(self, action: Action) -> None:
        self.actions.append(action)

    def update(self, action: Action, update: Update) -> None:
        return None

    def finished(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.done.set()


def test_a_start_up_refresh_is_observed_like_a_call(tmp_path: Path) -> None:
    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text('output "answer" {\n  value = 42\n}\n')
    hook = Hook("state", TerraformAction(dir=tf_dir, engine="embedded", refresh_on_start=True))

    async def scenario() -> Recorder:
        sink = Recorder()
        runner = TerraformRunner(hook, Settings(), {})
        pipeline = Pipeline(Table((hook,), {hook.name: runner}), [sink, LogSink()])
        await runner.start(pipeline.background)
        await asyncio.wait_for(sink.done.wait(), 60)
        await runner.close()
        return sink

    with capture_logs() as logs:
        sink = asyncio.run(scenario())
    [action] = sink.actions
    assert (action.hook, action.event.background) == ("state", "refresh on start")
    [outcome] = sink.outcomes
    assert outcome.error is None and outcome.final is not None and outcome.final.name == "DONE"
    assert "answer: (new) → 42" in outcome.log
    [done] = [e for e in logs if e["event"] == "background run done"]
    assert done["trigger"] == "refresh on start" and done["hook"] == "state"
