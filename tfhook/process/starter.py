"""How a child is started: posix_spawn where it can, subprocess.Popen where it must (#25).

Popen's own work around the fork costs a hook call about 0.09 ms more than posix_spawn
(measured: 248 against 159 µs from call to started, for the same hook), on the event loop
of every call. posix_spawn does what Popen is asked here: the three pipes on fds 0-2, a new
process group, SIGPIPE and SIGXFSZ back to their defaults (Python ignores both, and an
ignored signal stays ignored across exec; Popen's restore_signals does the same).

What it cannot do on Python 3.11 is close the other descriptors in the child, as Popen's
close_fds does, nor change directory. Every descriptor tfhook's Python opens is
close-on-exec (PEP 446), as gRPC's, libuv's and SQLite's are; one inherited from whoever
started tfhook may not be, so the first start marks every descriptor above 2 open then
close-on-exec (`_fast`). A child with a working directory, or a program named without a
`/` (Popen searches the child's PATH, posix_spawn would search ours), goes through Popen.
One difference remains: glibc's posix_spawn leaves its two internal signals (32 and 33,
below SIGRTMIN, which no program is given to use) ignored in the child; Python refuses to
name them in setsigdef.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from tfhook.process import rlimit

Popen = subprocess.Popen[Any]  # (bytes: the door never asks for text)
_DEFAULTS = frozenset({signal.SIGPIPE, signal.SIGXFSZ})  # ignored by Python, not by children
_swept: bool | None = None  # whether the descriptors were marked (see _fast)


class Spawned:
    """A child started by posix_spawn, with what the process layer uses of a Popen."""

    __slots__ = ("pid", "returncode", "stderr", "stdin", "stdout")

    def __init__(self, pid: int, stdin: int, stdout: int, stderr: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = io.FileIO(stdin, "wb")
        self.stdout = io.FileIO(stdout, "rb")
        self.stderr = io.FileIO(stderr, "rb")

    def wait(self) -> int:
        """Reap the child (blocking until it exits) and return its status as Popen does:
        the exit code, or minus the signal that ended it."""
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


Started = Popen | Spawned  # what `start` returns


def start(argv: Sequence[str], env: Mapping[str, str] | None,
          cwd: str | os.PathLike[str] | None) -> Started:
    """Start `argv` in a new process group with pipes for stdin, stdout and stderr, under
    the open files limit tfhook was started with (see rlimit).

    Raises:
        OSError: it could not start (FileNotFoundError when the program is missing).
    """
    with rlimit.starting():
        if cwd is None and "/" in argv[0] and _fast():
            pipes = _pipes()  # before the limit is lowered: nothing may open a descriptor then
            if pipes is not None:
                with rlimit.for_child(argv, cwd, pipes[0] + pipes[1]) as run:
                    return _spawn(run, env, *pipes)
        # Popen opens descriptors of its own as it starts: the launcher's way, never lowered.
        return subprocess.Popen(rlimit.child_argv(argv, cwd), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                cwd=cwd, process_group=0)


def _pipes() -> tuple[list[int], list[int]] | None:
    """Pipes for fds 0-2 (all close-on-exec): our ends and the child's; None when one got
    one of fds 0-2 itself (tfhook started with one of them closed): Popen knows how to
    shuffle those."""
    ours: list[int] = []
    theirs: list[int] = []
    try:
        for reading in (False, True, True):  # stdin, stdout, stderr
            read_end, write_end = os.pipe()
            ours.append(read_end if reading else write_end)
            theirs.append(write_end if reading else read_end)
    except BaseException:
        for fd in ours + theirs:
            os.close(fd)
        raise
    if min(ours + theirs) <= 2:
        for fd in ours + theirs:
            os.close(fd)
        return None
    return ours, theirs


def _spawn(argv: list[str], env: Mapping[str, str] | None, ours: list[int],
           theirs: list[int]) -> Spawned:
    """posix_spawn with `theirs` on fds 0-2; the pipes are closed if it fails."""
    try:
        pid = os.posix_spawn(
            argv[0], argv, os.environ if env is None else env,
            file_actions=[(os.POSIX_SPAWN_DUP2, fd, n) for n, fd in enumerate(theirs)],
            setpgroup=0, setsigdef=_DEFAULTS)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    return Spawned(pid, *ours)


def _fast() -> bool:
    """Whether posix_spawn may start children: once every descriptor above 2 open now is
    marked close-on-exec (none may reach a child); not where they cannot be listed."""
    global _swept
    if _swept is None:
        try:
            names = os.listdir("/proc/self/fd")
        except OSError:
            _swept = False
            return False
        for fd in (int(name) for name in names):
            if fd > 2:
                with contextlib.suppress(OSError):  # the listing's own, closed by now
                    os.set_inheritable(fd, False)
        _swept = True
    return _swept
