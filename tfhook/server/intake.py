"""Requests become Events under a memory budget: weigh the bytes, wait for a share of the
budget, parse, build the Go JSON, let the parsed message go, give the memory back."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import sys
from collections.abc import Callable
from typing import TypeVar

import grpc
import structlog
from google.protobuf.message import DecodeError

from tfhook.core.awaiting import to_the_end
from tfhook.core.model import OFF_LOOP_BYTES, Event, Phase
from tfhook.observe import logs
from tfhook.server import wire
from tfhook.server.budget import Budget
from tfhook.server.wirecost import Malformed

log = structlog.get_logger("tfhook.service")
MIB = 1024 * 1024
DEFAULT_BUDGET = 64 * MIB
# After a conversion that may have cost this much, freed memory goes back to the system:
# glibc keeps freed heap otherwise (measured: 383 MiB held after one request, 47 trimmed).
TRIM_AFTER = 16 * MIB
T = TypeVar("T")


class Intake:
    """What requests in conversion may cost at once (--max-conversion-memory)."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = Budget(budget)
        self._heavy = 0  # requests in hand whose conversion may cost TRIM_AFTER or more

    async def event(self, encoded: wire.Encoded, phase: Phase) -> Event | wire.BadRequest:
        """The request as an Event with its Go JSON built, or why it is refused."""
        large = encoded.size > OFF_LOOP_BYTES  # weighed and converted off the event loop
        total = self.budget.total
        try:
            cost = (await _finish(functools.partial(encoded.cost, total)) if large
                    else encoded.cost(total))
        except Malformed:
            encoded.let_go()
            return encoded.bad()
        heavy = cost >= min(TRIM_AFTER, total)
        self._heavy += heavy
        try:
            return await self._convert(encoded, phase, cost, large)
        finally:
            encoded.let_go()
            self._heavy -= heavy
            if heavy and not self._heavy and _TRIM is not None:
                # The last heavy request is done with: what it freed goes back.
                await asyncio.to_thread(_TRIM, 0)

    async def _convert(self, encoded: wire.Encoded, phase: Phase, cost: int,
                       large: bool) -> Event | wire.BadRequest:
        total = self.budget.total
        if cost > total:
            return wire.BadRequest(grpc.StatusCode.RESOURCE_EXHAUSTED, (
                f"request of {encoded.size} bytes would take more than {total // MIB} MiB "
                "to convert, the most requests in conversion may take "
                "(--max-conversion-memory): it holds too many fields"))
        if large and logs.enabled(logs.DEBUG):
            log.debug("converting request", bytes=encoded.size, estimate_mib=cost // MIB)
        try:
            async with self.budget.hold(cost):
                convert = functools.partial(_convert, encoded, phase)
                return await _finish(convert) if large else convert()
        except DecodeError:
            return encoded.bad()


def _convert(encoded: wire.Encoded, phase: Phase) -> Event:
    event = wire.event_from_proto(encoded.parse(), phase)
    event.request_json.get()  # built now, within the budget; the message is let go
    return event


async def _finish(work: Callable[[], T]) -> T:
    """Run `work` in a thread; a cancelled caller still waits for it (the budget it holds
    must cover the memory the work uses), then is cancelled."""
    return await to_the_end(asyncio.to_thread(work))


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()
