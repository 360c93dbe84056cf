"""`on_failure: warn`, the one rule for every kind of hook: a call whose hook failed is
answered DONE saying so, so that the Core does not fail the scaling job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import structlog

from tfhook.core.hooks import Hook
from tfhook.core.model import Action, Event, Status, Update
from tfhook.errors import ActionFailed

log = structlog.get_logger("tfhook.runners")


class Warns(Protocol):
    """A runner a warned failure can follow: it names what failed, and says what it does
    about the failure (a Terraform directory retries in the background)."""

    what: str  # what failed, as the log line names it ("hook", "terraform refresh")
    shown: str  # the same, as the answer names it ("", "terraform refresh ")

    def run(self, action: Action) -> AsyncIterator[Update]: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def warned(self) -> str | None:
        """A failure is answered DONE: what follows, for the answer ("" for nothing more);
        None when the failure must stand (the runner is closing)."""


class Warned:
    """A hook with `on_failure: warn`. Only calls are warned: a background run's failure is
    its own (retried, logged as a run)."""

    def __init__(self, inner: Warns, hook: Hook) -> None:
        self.inner = inner
        self.hook = hook

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def run(self, action: Action) -> AsyncIterator[Update]:
        try:
            async for update in self.inner.run(action):
                yield update
        except ActionFailed as exc:
            after = self.inner.warned() if isinstance(action.trigger, Event) else None
            if after is None:
                raise
            # A plan kept for an operator (#21) is held, not failed: the answer says which.
            word = "held" if exc.held else "FAILED"
            log.warning(f"{self.inner.what} failed; the call answers DONE (on_failure warn)",
                        hook=self.hook.name, outcome=word.lower(), error=str(exc))
            yield Update(Status.DONE, warned=True, log=f"{self.inner.shown}{word} (on_failure "
                         f"warn; the scaling job is not failed{after}): {exc}")
