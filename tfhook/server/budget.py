"""A budget of bytes shared by the requests in conversion: a request waits for its share."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class Budget:
    """`total` bytes; `hold(cost)` waits, first come first served, until `cost` fits."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @contextlib.asynccontextmanager
    async def hold(self, cost: int) -> AsyncIterator[None]:
        """Hold `cost` bytes (at most `total`) while the body runs."""
        cost = min(cost, self.total)
        if self._waiting or self.used + cost > self.total:
            granted = asyncio.get_running_loop().create_future()
            self._waiting.append((cost, granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release(cost)  # granted just as the caller went away
                else:
                    self._waiting.remove((cost, granted))
                    self._grant()  # those behind it may fit now
                raise
        else:
            self.used += cost
        try:
            yield
        finally:
            self._release(cost)

    def _release(self, cost: int) -> None:
        self.used -= cost
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self.used + self._waiting[0][0] <= self.total:
            cost, granted = self._waiting.popleft()
            self.used += cost
            granted.set_result(None)
