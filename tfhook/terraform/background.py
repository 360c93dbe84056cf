"""Runs the server asks for itself: retry after a failure, reconcile when no event came.

Each run goes through the pipeline (`request`), so observers see it like a call. Waits are
jittered: several instances on one state, started together or failing together, then spread
their runs instead of queuing on the state's lock at the same moment (#14).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from tfhook.core.flight import Flight

log = structlog.get_logger("tfhook.terraform")
RETRY_FIRST, RETRY_MAX = 2.0, 300.0
RECONCILE_JITTER = 0.2  # a reconcile waits between 80% and 100% of --reconcile-every
Request = Callable[[str], Awaitable[bool]]  # reason -> whether the run succeeded


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _now() -> float:
    return time.monotonic()


def _random() -> float:
    return random.random()


@dataclass(frozen=True, slots=True)
class Clock:
    """Time and chance (in [0, 1)), replaceable in tests."""

    sleep: Callable[[float], Awaitable[None]] = _sleep
    now: Callable[[], float] = _now
    random: Callable[[], float] = _random


def retry_delay(step: float, clock: Clock) -> float:
    """A backoff step with "equal jitter": between half the step and the step."""
    return step / 2 + clock.random() * step / 2


def reconcile_wait(every: float, clock: Clock) -> float:
    """How long without a run before a reconcile: never more than `every`."""
    return every * (1 - RECONCILE_JITTER * clock.random())


async def retry(request: Request, failing: Callable[[], bool], clock: Clock = Clock()) -> None:
    """Retry with jittered backoff until a run succeeds (this one or an event's)."""
    step = RETRY_FIRST
    while True:
        await clock.sleep(retry_delay(step, clock))
        if not failing():
            log.info("refresh recovered through a later run; background retry stops")
            return
        if await request("retry after failure"):
            log.info("background refresh retry succeeded")
            return
        step = min(step * 2, RETRY_MAX)
        log.warning("background refresh retry failed", next_in=f"{step / 2:g}-{step:g}s")


async def reconcile(request: Request, flight: Flight, every: float,
                    last_run: Callable[[], float], clock: Clock = Clock()) -> None:
    """Refresh whenever no run happened for (a jittered part of) `every` seconds."""
    wait = reconcile_wait(every, clock)
    while True:
        await clock.sleep(max(last_run() + wait - clock.now(), 0.05))
        if flight.busy:
            await flight.wait_idle()  # that run counts; wait from its end
        elif clock.now() - last_run() >= wait:
            log.info("reconcile: no event for a while, refreshing", every=every)
            await request("reconcile")
            wait = reconcile_wait(every, clock)
