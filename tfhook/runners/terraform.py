"""Terraform hooks: each refreshes its directory through the directory's shared single flight."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tfhook.core.flight import Flight
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.model import Action, Event, Status, Update
from tfhook.runners import RunnerContext
from tfhook.terraform import held, snapshots, suggest
from tfhook.terraform.directory import Directory


class TerraformRunner:
    """One hook on a Terraform directory; hooks on the same directory share its Directory."""

    what, shown = "terraform refresh", "terraform refresh "  # a warned failure (runners.warn)

    def __init__(self, hook: Hook, context: RunnerContext) -> None:
        assert isinstance(hook.action, TerraformAction)
        self.hook = hook
        self.context = context
        # Hooks on one directory agree on its options (the routes file is checked for it).
        key = (hook.action, hook.limits)
        directory = context.directories.get(key)
        if directory is None or directory.closed:
            settings = context.settings
            directory = context.directories[key] = Directory(
                hook, dict(settings.env), context.observer, held.shelf(settings),
                snapshots.keeper(settings.snapshot_root, settings.snapshots_keep),
                suggest.folder(settings.history_dir))  # run-N's suggestion: only with a history
        self.directory: Directory = directory
        directory.users += 1
        self._closed = False

    @property
    def flight(self) -> Flight:
        """The directory's single flight (shared with every hook on the directory)."""
        return self.directory.flight

    async def start(self) -> None:
        await self.directory.start(self._request)

    async def _request(self, reason: str) -> bool:
        return await self.context.background(self.hook.name, self, reason)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.directory.users -= 1
        if self.directory.users <= 0:
            await self.directory.close()

    def warned(self) -> str | None:
        """A failed refresh answered DONE: retry it in the background."""
        if self.directory.closed:
            return None
        if self.directory.held_run() is not None:
            return ""  # no retry while a plan waits for an operator (#21)
        self.directory.schedule_retry()
        return ", retrying in background"

    async def run(self, action: Action) -> AsyncIterator[Update]:
        background = not isinstance(action.trigger, Event)
        async for item in self.directory.flight.join(
                action.trigger, background=background, served=action.served):
            yield Update(Status.ACCEPTED, item, queued=True) if isinstance(item, str) else item

