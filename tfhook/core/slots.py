"""How many hooks run at once (--max-concurrency): a call beyond it waits for a slot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Slots:
    """A bound on hooks running at once; `running` says how it is used."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.running = 0
        self._free = asyncio.Semaphore(size)

    def full(self) -> bool:
        """Whether a hook started now would have to wait."""
        return self._free.locked()

    def why_waiting(self) -> str:
        """What a waiting call is told (its ACCEPTED message)."""
        return (f"waiting: {self.running} hooks are running, the most at once "
                f"(--max-concurrency {self.size})")

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot while the body runs; wait for one first when all are taken."""
        await self._free.acquire()
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._free.release()
