"""Runs the server asks for itself: retry after a failure, reconcile when no event came.

Each run goes through the pipeline (`request`), so observers see it like a call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from tfhook.flight import Flight

log = structlog.get_logger("tfhook.terraform")
RETRY_FIRST, RETRY_MAX = 2.0, 300.0
Request = Callable[[str], Awaitable[bool]]  # reason -> whether the run succeeded


async def retry(request: Request, failing: Callable[[], bool]) -> None:
    """Retry with backoff until a run succeeds (this one or an event's)."""
    delay = RETRY_FIRST
    while True:
        await asyncio.sleep(delay)
        if not failing():
            log.info("refresh recovered through a later run; background retry stops")
            return
        if await request("retry after failure"):
            log.info("background refresh retry succeeded")
            return
        delay = min(delay * 2, RETRY_MAX)
        log.warning("background refresh retry failed", next_in=delay)


async def reconcile(request: Request, flight: Flight, every: float,
                    last_run: Callable[[], float]) -> None:
    """Refresh whenever no run happened for `every` seconds."""
    while True:
        await asyncio.sleep(max(last_run() + every - time.monotonic(), 0.05))
        if flight.busy:
            await flight.wait_idle()  # that run counts; wait from its end
        elif time.monotonic() - last_run() >= every:
            log.info("reconcile: no event for a while, refreshing", every=every)
            await request("reconcile")
