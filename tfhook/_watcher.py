"""Child exits through pidfds, for Python 3.11 (3.12 and later do this themselves).

Python 3.11's default child watcher starts a thread per child, blocked in waitpid; its own
PidfdChildWatcher serves a single event loop. This one, like 3.12's, serves whichever loop
is running: the exit is one readable file descriptor on that loop. Imported only on 3.11
(the watcher API is deprecated from 3.12 on).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any


class PidfdWatcher(asyncio.AbstractChildWatcher):
    """Reports each child's exit from the event loop that started it."""

    def __init__(self) -> None:
        self._fds: dict[int, tuple[int, asyncio.AbstractEventLoop]] = {}

    def add_child_handler(  # type: ignore[override]  # the stub spells *args with a TypeVarTuple
        self, pid: int, callback: Callable[..., object], *args: Any
    ) -> None:
        loop = asyncio.get_running_loop()
        pidfd = os.pidfd_open(pid)
        self._fds[pid] = (pidfd, loop)
        loop.add_reader(pidfd, self._reap, pid, callback, args)

    def _reap(self, pid: int, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        pidfd, loop = self._fds.pop(pid)
        loop.remove_reader(pidfd)
        os.close(pidfd)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # someone else reaped it: as asyncio reports that
            returncode = 255
        else:
            returncode = os.waitstatus_to_exitcode(status)
        callback(pid, returncode, *args)

    def remove_child_handler(self, pid: int) -> bool:
        entry = self._fds.pop(pid, None)
        if entry is None:
            return False
        pidfd, loop = entry
        loop.remove_reader(pidfd)
        os.close(pidfd)
        return True

    def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        return None  # every call uses the running loop

    def close(self) -> None:
        return None

    def is_active(self) -> bool:
        return True

    def __enter__(self) -> PidfdWatcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None
