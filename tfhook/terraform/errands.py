"""Errands: work other than a refresh (a rollback) that a directory runs under its single
flight, as a run of its own (a history row), with calls queued behind it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tfhook.core.flight import Batch, Flight
from tfhook.core.model import Update

Work = Callable[[Batch], Awaitable[str]]  # the run's batch -> what the errand answers


@dataclass(frozen=True, eq=False)
class Errand:
    """The trigger of an errand's run: the directory's work function runs `work` for it."""

    reason: str  # the run's trigger, as the history names it
    work: Work

    def __str__(self) -> str:
        return self.reason


def of(batch: Batch) -> Errand | None:
    """The errand a batch runs, or None for a refresh."""
    found = batch.triggers[0] if len(batch.triggers) == 1 else None
    return found if isinstance(found, Errand) else None


async def alone(flight: Flight, reason: str, work: Work) -> str:
    """Run `work` under `flight` in a run of its own; what it answered. Raises what it raised."""
    while flight.busy:  # alone in its run: never in a batch with events' triggers
        await flight.wait_idle()
    answer = ""
    async for item in flight.join(Errand(reason, work)):
        answer = item.log if isinstance(item, Update) else answer
    return answer
