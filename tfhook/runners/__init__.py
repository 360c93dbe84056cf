"""Runners turn an Action into Updates; each is small and hands its child to the process
layer (tfhook.process).

One runner per hook, made by the factory its action kind names in RUNNERS, given the
server's `RunnerContext`: what runners share for as long as the server runs, across reloads (the
executables' bound, one Terraform directory per directory, the observer runs report to).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tfhook.config.settings import Settings
from tfhook.core import pipeline
from tfhook.core.hooks import Hook
from tfhook.core.observer import Observer
from tfhook.core.slots import Slots
from tfhook.core.table import Runner, Table, close

if TYPE_CHECKING:
    from tfhook.terraform.directory import Directory


@dataclass(eq=False)
class RunnerContext:
    """What every runner is made with, shared by all of them for the server's life."""

    settings: Settings
    observer: Observer  # the server's one observer: calls and background runs report to it
    # Terraform directories by (action, limits): hooks on one directory share it.
    directories: dict[tuple[object, ...], Directory] = field(default_factory=dict)
    slots: Slots = field(init=False)  # one bound for every executable hook (--max-concurrency)

    def __post_init__(self) -> None:
        self.slots = Slots(self.settings.max_concurrency)

    async def background(self, hook: str, runner: Runner, reason: str) -> bool:
        """Run a background refresh (start-up, reconcile, retry) of `hook` the way calls
        run (pipeline.background), so every observer sees it; whether it succeeded."""
        return await pipeline.background(self.observer, hook, runner, reason)


def _executable(hook: Hook, context: RunnerContext) -> Runner:
    from tfhook.runners.executable import ExecutableRunner

    return _warned(ExecutableRunner(hook, context), hook)


def _terraform(hook: Hook, context: RunnerContext) -> Runner:
    from tfhook.runners.terraform import TerraformRunner

    return _warned(TerraformRunner(hook, context), hook)


def _warned(runner: Runner, hook: Hook) -> Runner:
    from tfhook.runners.warn import Warned

    return Warned(runner, hook) if hook.on_failure == "warn" else runner  # type: ignore[arg-type]


RUNNERS: dict[str, Callable[[Hook, RunnerContext], Runner]] = {
    "executable": _executable,
    "terraform": _terraform,
}


async def open_table(context: RunnerContext, hooks: tuple[Hook, ...]) -> Table:
    """Make a runner per hook and start each (start-up checks); on failure close them all.

    Args:
        context: what the runners share (settings, observer, directories).
        hooks: the hooks, in file order.

    Returns:
        The started table.
    """
    runners: dict[str, Runner] = {}
    try:  # a runner made is a user of a shared directory: close it again on any failure
        for hook in hooks:
            runners[hook.name] = RUNNERS[hook.kind](hook, context)
        for runner in runners.values():
            await runner.start()
    except BaseException:
        await close(Table(hooks, runners))
        raise
    return Table(hooks, runners, context.settings.announce_unmatched)
