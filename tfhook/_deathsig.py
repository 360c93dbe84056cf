"""The parent-death signal: every child learns that tfhook died, even by SIGKILL (#12).

Linux's PR_SET_PDEATHSIG makes the kernel send a child a signal when its parent dies; it
survives exec. Each child gets the stop signal of its kind, so a Terraform child gets
SIGINT, stops gracefully and releases the state lock instead of running on unsupervised.

How it is set: util-linux's `setpriv --pdeathsig SIG -- ARGV` (Debian's util-linux is
essential) execs the program with the signal set. Setting it from a `preexec_fn` instead
makes Popen fork the whole server rather than vfork it and run Python in the child, which
Python documents as unsafe beside threads (gRPC has several). Measured, spawn and wait of
/bin/true from a process of tfhook's size: 0.8 ms plain, 2.1 ms through setpriv, 3.5 ms
with the preexec_fn. So the preexec_fn is only the fallback where setpriv is missing.

A child told to stop prints as it stops (Terraform does); with tfhook gone, its output
pipes would have no reader and the first line would kill it with SIGPIPE, its lock still
held. `output_pipes` lets such a child keep a read end of its own pipes.

Two limits, both of the kernel's making:
- The signal fires when the *thread* that spawned the child exits, not the process:
  children must be spawned from a thread that lives as long as the server (the event
  loop's thread: process.py spawns there).
- It goes to the child only; its own children (a hook's background jobs) are the
  child's business. Terraform stops its provider plugins itself.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Sequence
from enum import IntEnum
from subprocess import PIPE

_PR_SET_PDEATHSIG = 1
# setpriv's own exec failure: "setpriv: failed to execute PROG: REASON", exit 126 or 127.
_SETPRIV_FAILED = re.compile(rb"^setpriv: failed to execute .*?: (.+)$", re.M)


@functools.cache
def _setpriv() -> str | None:
    if not sys.platform.startswith("linux"):
        return None
    import shutil  # on the first spawn, not at start-up (#9)

    return shutil.which("setpriv")


def wrap(argv: Sequence[str], sig: IntEnum) -> tuple[list[str], Callable[[], None] | None, bool]:
    """How to start `argv` so that it receives `sig` when we die.

    Returns:
        (argv to start, preexec_fn or None, whether argv goes through setpriv).
    """
    setpriv = _setpriv()
    if setpriv is not None:
        name = sig.name.removeprefix("SIG")
        return [setpriv, f"--pdeathsig={name}", "--", *argv], None, True
    if not sys.platform.startswith("linux"):
        return list(argv), None, False
    return list(argv), functools.partial(_set_in_child, int(sig), os.getpid()), False


def _set_in_child(sig: int, parent: int) -> None:
    """The fallback, run in the child between fork and exec."""
    import ctypes  # only here: the usual path (setpriv) does without it

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:  # we died before the signal was armed: it will never come
        os.kill(os.getpid(), sig)


def exec_failure(returncode: int, stderr: bytes) -> str | None:
    """Why setpriv could not exec the program (as Popen would have said), or None."""
    if returncode not in (126, 127):
        return None
    found = _SETPRIV_FAILED.search(stderr)
    return found.group(1).decode("utf-8", "replace").strip() if found else None


def output_pipes(outlive_reader: bool) -> tuple[tuple[int, int], tuple[int, ...]]:
    """The child's stdout and stderr, and the read ends it keeps (see Spec.outlive_reader)."""
    if not outlive_reader:
        return (PIPE, PIPE), ()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    return (out_write, err_write), (out_read, err_read)


def close(fds: tuple[int, ...]) -> None:
    for fd in fds:
        os.close(fd)
