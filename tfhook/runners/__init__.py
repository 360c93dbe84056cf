"""Runners turn an Action into Updates; each is small and hands its child to process.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

from tfhook.config import Settings
from tfhook.model import Action, Update


class Runner(Protocol):
    """Runs one action; yields progress, ends with a DONE, or raises a TfhookError."""

    def run(self, action: Action) -> AsyncIterator[Update]: ...

    async def start(self) -> None:
        """Called once when the server starts (checks, start-up refresh)."""

    async def close(self) -> None:
        """Called once when the server stops."""


def _executable(settings: Settings) -> Runner:
    from tfhook.runners.executable import ExecutableRunner

    return ExecutableRunner(settings)


def _terraform(settings: Settings) -> Runner:
    from tfhook.runners.terraform import TerraformRunner

    return TerraformRunner(settings)


RUNNERS: dict[str, Callable[[Settings], Runner]] = {
    "executable": _executable,
    "terraform": _terraform,
}
