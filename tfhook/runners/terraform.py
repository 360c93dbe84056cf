"""Terraform hooks: each refreshes its directory through the directory's shared single flight."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog

from tfhook.config.settings import Settings
from tfhook.core.flight import Flight
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.model import Action, Status, Update
from tfhook.errors import ActionFailed
from tfhook.runners import OBSERVER, Background, Shared
from tfhook.terraform.directory import Directory

log = structlog.get_logger("tfhook.terraform")


class TerraformRunner:
    """One hook on a Terraform directory; hooks on the same directory share its Directory."""

    def __init__(self, hook: Hook, settings: Settings, shared: Shared) -> None:
        assert isinstance(hook.action, TerraformAction)
        self.hook = hook
        # Hooks on one directory agree on its options (the routes file is checked for it).
        key = ("terraform", hook.action, hook.timeout, hook.kill_after)
        directory = shared.get(key)
        if directory is None or directory.closed:
            directory = shared[key] = Directory(hook, dict(settings.env),
                                                shared.get(OBSERVER))
        self.directory: Directory = directory
        directory.users += 1
        self._background: Background | None = None
        self._closed = False

    @property
    def flight(self) -> Flight:
        """The directory's single flight (shared with every hook on the directory)."""
        return self.directory.flight

    async def start(self, background: Background) -> None:
        self._background = background
        await self.directory.start(self._request)

    async def _request(self, reason: str) -> bool:
        assert self._background is not None
        return await self._background(self.hook.name, self, reason)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.directory.users -= 1
        if self.directory.users <= 0:
            await self.directory.close()

    async def run(self, action: Action) -> AsyncIterator[Update]:
        event = action.event
        trigger: object = event.background or event
        try:
            async for item in self.directory.flight.join(
                    trigger, background=bool(event.background), served=action.served):
                yield Update(Status.ACCEPTED, item, queued=True) if isinstance(item, str) \
                    else item
        except ActionFailed as exc:
            if event.background or self.hook.on_failure != "warn" or self.directory.closed:
                raise
            log.warning("terraform refresh failed; the call answers DONE (on_failure warn)",
                        hook=self.hook.name, error=str(exc))
            self.directory.schedule_retry()
            yield Update(Status.DONE, warned=True, log=f"terraform refresh FAILED (on_failure warn; the "
                         f"scaling job is not failed, retrying in background): {exc}")
