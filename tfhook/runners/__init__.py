"""Runners turn an Action into Updates; each is small and hands its child to process.py.

One runner per hook, made by the factory its action kind names in RUNNERS. Runners that
must share state (one single flight per Terraform directory) find it in `shared`, a cache
that lives as long as the server, across reloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import structlog

from tfhook.config.settings import Settings
from tfhook.core.hooks import Hook
from tfhook.core.model import Action, Status, Update
from tfhook.errors import ActionFailed

# Runs a background refresh (start-up, reconcile, retry) of a hook through the pipeline, so
# every observer sees it: (hook name, runner, reason) -> whether it succeeded.
Background = Callable[[str, "Runner", str], Awaitable[bool]]
Shared = dict[Any, Any]
OBSERVER = "observer"  # the key of the server's `observe.Observer` in `Shared` (runs report to it)


class Runner(Protocol):
    """Runs one hook's actions; yields progress, ends with a DONE, or raises a TfhookError."""

    def run(self, action: Action) -> AsyncIterator[Update]: ...

    async def start(self, background: Background) -> None:
        """Called once before the runner serves (checks, start-up refresh)."""

    async def close(self) -> None:
        """Called once when the runner is no longer used (server stop, reload)."""


def _executable(hook: Hook, settings: Settings, shared: Shared) -> Runner:
    from tfhook.runners.executable import ExecutableRunner

    runner = ExecutableRunner(hook, settings, shared)
    return Warned(runner, hook) if hook.on_failure == "warn" else runner


class Warned:
    """A hook with `on_failure: warn`: a failure answers DONE saying so, so the Core does
    not fail the scaling job. (Terraform hooks do this themselves, and retry.)"""

    def __init__(self, inner: Runner, hook: Hook) -> None:
        self.inner = inner
        self.hook = hook

    async def start(self, background: Background) -> None:
        await self.inner.start(background)

    async def close(self) -> None:
        await self.inner.close()

    async def run(self, action: Action) -> AsyncIterator[Update]:
        try:
            async for update in self.inner.run(action):
                yield update
        except ActionFailed as exc:
            structlog.get_logger("tfhook.runners").warning(
                "hook failed; the call answers DONE (on_failure warn)", hook=self.hook.name,
                error=str(exc))
            yield Update(Status.DONE, warned=True, log=f"FAILED (on_failure warn; the scaling job is not "
                         f"failed): {exc}")


def _terraform(hook: Hook, settings: Settings, shared: Shared) -> Runner:
    from tfhook.runners.terraform import TerraformRunner

    return TerraformRunner(hook, settings, shared)


RUNNERS: dict[str, Callable[[Hook, Settings, Shared], Runner]] = {
    "executable": _executable,
    "terraform": _terraform,
}

