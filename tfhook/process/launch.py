"""Starting a child off the event loop while other children run (#25).

Starting a child holds the thread that starts it until the child has exec'd its program
(vfork): about a millisecond, more on a busy machine, in which the event loop would answer
no other call. Profiled at 16 calls at once, that wait was the event loop's largest share.
So while other children run, the start goes to a thread of its own (the wait releases the
GIL) and the loop goes on with the other calls; a server with no child running starts one
on the loop, as before, with no thread hop in its call's way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tfhook.process.starter import Started

_THREADS = 2  # starts at once off the loop; more wait for one of these (a start is short)
_live: set[int] = set()  # pids of children started and not yet reaped
_executor: ThreadPoolExecutor | None = None


async def start(spawn: Callable[[], Started]) -> tuple[Started, asyncio.CancelledError | None]:
    """Run `spawn` (it starts a child) on the loop when no other child runs, else in a thread.

    Args:
        spawn: starts the child and returns it; raises OSError when it cannot start.

    Returns:
        The child, and the caller's cancellation if one came while it started: the child is
        started all the same, and the caller must stop it (nothing may run unsupervised).
    """
    if not _live:
        child = spawn()
        _live.add(child.pid)
        return child, None
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_THREADS, thread_name_prefix="tfhook-spawn")
    started = asyncio.get_running_loop().run_in_executor(_executor, spawn)
    cancelled: asyncio.CancelledError | None = None
    while not started.done():
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError as exc:
            cancelled = cancelled or exc
        except OSError:
            break
    if started.exception() is not None and cancelled is not None:
        raise cancelled  # it did not start: the cancellation is what the caller hears
    child = started.result()
    _live.add(child.pid)
    return child, cancelled


def ended(pid: int) -> None:
    """The child `pid` was reaped (0: one that never started)."""
    _live.discard(pid)
