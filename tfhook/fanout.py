"""Several routes for one call: run them (in file order, `parallel` ones alongside), label
their progress, and answer one combined DONE or one error naming every failed route."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Sequence

from tfhook.errors import TfhookError
from tfhook.model import Action, Status, Update

Execute = Callable[[Action], AsyncIterator[Update]]
_Item = tuple[str, Update | BaseException | None]


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
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    ends: dict[str, str] = {}
    failures: list[tuple[str, TfhookError]] = []

    async def one(action: Action) -> None:
        name = str(action.hook)
        try:
            async for update in execute(action):
                if update.status is Status.DONE:
                    ends[name] = "done: " + (_first_line(update.log) or "(no output)")
                    update = Update(Status.RUNNING, update.log)
                await queue.put((name, update))
            ends.setdefault(name, "done (no answer)")
        except TfhookError as exc:
            failures.append((name, exc))
            ends[name] = "failed: " + _first_line(str(exc))

    async def chain(sequential: list[Action]) -> None:
        for action in sequential:
            await one(action)

    async def guarded(work: asyncio.Future[None] | asyncio.Task[None], name: str) -> None:
        try:
            await work
        except BaseException as exc:  # a bug in a runner: the call fails with it
            await queue.put((name, exc))
        finally:
            await queue.put((name, None))

    first = [a for a in actions if a.hook in parallel]
    rest = [a for a in actions if a.hook not in parallel]
    works = [asyncio.ensure_future(one(a)) for a in first] + [asyncio.ensure_future(chain(rest))]
    watchers = [asyncio.ensure_future(guarded(w, "")) for w in works]
    try:
        remaining = len(watchers)
        while remaining:
            name, item = await queue.get()
            if item is None:
                remaining -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield Update(item.status, f"[{name}] {item.log}")
    finally:
        for task in works + watchers:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*works, *watchers, return_exceptions=True)
    order = [str(a.hook) for a in actions]
    if failures:
        raise _combined(failures, len(order))
    yield Update(Status.DONE, "\n".join([f"{len(order)} routes done"] +
                                        [f"[{name}] {ends[name]}" for name in order]))


def _combined(failures: list[tuple[str, TfhookError]], total: int) -> TfhookError:
    names = ", ".join(name for name, _ in failures)
    lines = [f"{len(failures)} of {total} routes failed: {names}"]
    for name, exc in failures:
        lines += [f"[{name}] {line}" for line in str(exc).splitlines() or [type(exc).__name__]]
    return type(failures[0][1])("\n".join(lines))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
