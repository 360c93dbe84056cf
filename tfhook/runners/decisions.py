"""`Decisions` over the server's Terraform directories (#21): the admin service's other end.

The runners' `RunnerContext` keeps one Directory per Terraform directory; a held run is kept by the
directory that made it, so approve and deny find it there, and a rollback names its directory.
Every decision taken (done, refused, failed) goes to the one observer: a log line, a history
row and `tfhook_decisions_total`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tfhook.core.decisions import HeldRun, Refused, Who
from tfhook.core.observer import Decision, Observer
from tfhook.runners import RunnerContext

if TYPE_CHECKING:  # made by the Terraform runner; a generic server never loads it (#9)
    from tfhook.terraform.directory import Directory


class Decider:
    """Decisions on the directories `context` holds now (a reload may add or close some)."""

    def __init__(self, context: RunnerContext) -> None:
        self._context = context
        # run -> how this server decided it ("approved", "denied"), to tell a decided run
        # from one it never held when asked again (bounded: one entry per decision taken).
        self._decided: dict[int, str] = {}

    def _open(self) -> list[Directory]:
        # list() first: the metrics exporter's thread reads held() while the loop may reload.
        return [d for d in list(self._context.directories.values()) if not d.closed]

    def held(self) -> list[HeldRun]:
        """Every held run this server keeps, oldest first."""
        found = [directory.held_run() for directory in self._open()]
        return sorted((held for held in found if held is not None), key=lambda h: h.held_at)

    async def approve(self, run: int, who: Who) -> str:
        """Apply the held plan of `run` through the directory that holds it."""
        holder, decision = self._holding("approve", run, who)
        answer = await self._decide(decision, None if holder is None
                                    else functools.partial(holder.approve, run, who))
        self._decided[run] = "approved"
        return answer

    async def deny(self, run: int, who: Who) -> str:
        """Discard the held plan of `run`."""
        holder, decision = self._holding("deny", run, who)
        answer = await self._decide(decision, None if holder is None
                                    else functools.partial(holder.deny, run, who))
        self._decided[run] = "denied"
        return answer

    async def rollback(self, directory: str, run: int, who: Who, *, apply: bool) -> str:
        """The difference to the state saved before `run` in `directory`; with `apply`,
        push it back (only that is a decision the history and metrics count)."""
        restorer = self._serving(directory)
        work = functools.partial(restorer.rollback, run, who, apply=apply)
        if not apply:
            return await work()
        return await self._decide(Decision("rollback", run, who.user, "", "", directory,
                                           restorer.route, who.peer), work)

    def _holding(self, action: str, run: int, who: Who) -> tuple[Directory | None, Decision]:
        """The directory holding `run` (None: no such run, or decided already)."""
        decision = Decision(action, run, who.user, "", "", peer=who.peer)
        for directory in self._open():
            held = directory.held_run()
            if held is not None and held.run == run:
                return directory, replace(decision, directory=held.directory, route=held.route)
        return None, decision

    def _serving(self, directory: str) -> Directory:
        wanted = Path(directory).absolute()
        for found in self._open():
            if Path(found.action.dir).absolute() == wanted:
                return found
        raise Refused(f"this server does not serve the Terraform directory {directory}")

    async def _decide(self, decision: Decision,
                      work: Callable[[], Awaitable[str]] | None) -> str:
        """Run `work` (None: nothing holds the run: refused), reporting how it ended."""
        if work is None:
            work = functools.partial(_not_held, decision.run, self._decided.get(decision.run))
        return await decide(self._context.observer, decision, work)


async def _not_held(run: int, decided: str | None) -> str:
    if decided:
        raise Refused(f"run-{run} was {decided} already (see tfhook history show run-{run})")
    raise Refused(f"run-{run} is not held by this server: no held run has that id here (it may "
                  f"have been decided before a restart or by another server: see tfhook history "
                  f"show run-{run})")


async def decide(observer: Observer, decision: Decision, work: Callable[[], Awaitable[str]]
                 ) -> str:
    """Run `work` for `decision`, telling `observer` how it ended (done, refused, failed,
    cancelled) and with what message: every decision is a history row and counted."""
    outcome, message = "failed", ""
    try:
        message = await work()
        outcome = "done"
        return message
    except Refused as exc:
        outcome, message = "refused", str(exc)
        raise
    except asyncio.CancelledError:
        outcome, message = "cancelled", "the decision was cancelled"
        raise
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        raise
    finally:
        observer.decided(replace(decision, outcome=outcome, message=message))
