"""Several routes for one call: run them (in file order, `parallel` ones alongside), label
their progress, and answer one combined DONE or one error naming every failed route."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Sequence
from dataclasses import replace
from typing import Any

from tfhook.core.model import Action, Status, Update
from tfhook.errors import TfhookError

Execute = Callable[[Action], AsyncIterator[Update]]
_Item = Update | BaseException | None  # progress, a bug to re-raise, or "one worker ended"


async def run(actions: Sequence[Action], parallel: Collection[str], execute: Execute
              ) -> AsyncIterator[Update]:
    """Run every action; yield `[name] ...` progress, then one DONE, or raise.

    Args:
        actions: the matching routes' actions, in file order (each names its hook).
        parallel: names of the routes that run alongside the others.
        execute: runs one action through the pipeline (its observers see it).

    Yields:
        Each route's updates labelled with its name (a route's own DONE as RUNNING), then
        one DONE listing every route's outcome.

    Raises:
        TfhookError: of the class of the first failure, naming every failed route and why.
    """
    fan = _Fan(execute)
    async for update in fan.updates(actions, parallel):
        yield update
    order = [str(action.hook) for action in actions]
    if fan.failures:
        raise _combined(fan.failures, len(order))
    yield Update(Status.DONE, "\n".join([f"{len(order)} routes done"] +
                                        [f"[{name}] {fan.ends[name]}" for name in order]))


class _Fan:
    """The routes of one call, running; their labelled updates arrive on one queue."""

    def __init__(self, execute: Execute) -> None:
        self.execute = execute
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.ends: dict[str, str] = {}
        self.failures: list[tuple[str, TfhookError]] = []

    async def updates(self, actions: Sequence[Action], parallel: Collection[str]
                      ) -> AsyncIterator[Update]:
        rest = [a for a in actions if a.hook not in parallel]
        works = [self._worker(lambda a=a: self._one(a))  # type: ignore[misc]
                 for a in actions if a.hook in parallel]
        works.append(self._worker(lambda: self._chain(rest)))
        try:
            remaining = len(works)
            while remaining:
                item = await self.queue.get()
                if item is None:
                    remaining -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:  # the call went away, or a bug: stop every route (and its process group)
            for task in works:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*works, return_exceptions=True)

    def _worker(self, work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        # The coroutine is made inside the task: a task cancelled before its first step
        # leaves no coroutine that was never awaited.
        async def guarded() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # a bug in a runner: the call fails with it
                self.queue.put_nowait(exc)
            finally:
                self.queue.put_nowait(None)

        return asyncio.ensure_future(guarded())

    async def _chain(self, sequential: list[Action]) -> None:
        for action in sequential:
            await self._one(action)

    async def _one(self, action: Action) -> None:
        name = str(action.hook)
        try:
            async for update in self.execute(action):
                if update.status is Status.DONE:
                    self.ends[name] = "done: " + (_first_line(update.log) or "(no output)")
                    update = replace(update, status=Status.RUNNING)
                self.queue.put_nowait(replace(update, log=f"[{name}] {update.log}"))
            self.ends.setdefault(name, "done (no answer)")
        except TfhookError as exc:
            self.failures.append((name, exc))
            self.ends[name] = "failed: " + _first_line(str(exc))


def _combined(failures: list[tuple[str, TfhookError]], total: int) -> TfhookError:
    names = ", ".join(name for name, _ in failures)
    lines = [f"{len(failures)} of {total} routes failed: {names}"]
    for name, exc in failures:
        lines += [f"[{name}] {line}" for line in str(exc).splitlines() or [type(exc).__name__]]
    return type(failures[0][1])("\n".join(lines))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
