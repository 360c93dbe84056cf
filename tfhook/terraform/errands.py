"""Errands: work other than a refresh (a rollback) that a directory runs under its single
flight, as a run of its own (a history row), with calls queued behind it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tfhook.core.flight import Batch, Flight
from tfhook.core.model import Status, Update
from tfhook.core.observer import Run


@dataclass(frozen=True, slots=True)
class Done:
    """What an errand answers, and what it changed (the run's row lists it)."""

    text: str
    changed: tuple[str, ...] = ()


Work = Callable[[Batch], Awaitable[Done]]  # the run's batch -> what the errand did


@dataclass(frozen=True, eq=False)
class Errand:
    """The trigger of an errand's run: the directory's work function runs `work` for it."""

    reason: str  # the run's trigger, as the history names it
    work: Work

    def __str__(self) -> str:
        return self.reason


async def or_refresh(batch: Batch, run: Run, refresh: Callable[[], Awaitable[Update]]
                     ) -> Update:
    """The work of `run`: the errand `batch` is for (what it changed goes in the run's
    `drifted`), else `refresh`."""
    found = batch.triggers[0] if len(batch.triggers) == 1 else None
    if isinstance(found, Errand):
        done = await found.work(batch)
        run.drifted = done.changed
        return Update(Status.DONE, done.text)
    return await refresh()


async def alone(flight: Flight, reason: str, work: Work) -> str:
    """Run `work` under `flight` in a run of its own; what it answered. Raises what it raised."""
    while flight.busy:  # alone in its run: never in a batch with events' triggers
        await flight.wait_idle()
    answer = ""
    async for item in flight.join(Errand(reason, work)):
        answer = item.log if isinstance(item, Update) else answer
    return answer
