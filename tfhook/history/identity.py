"""Which process wrote a row: its pid, and when that pid started (boot id and start time),
so that a pid another process took since is not taken for the server that wrote it."""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def of(pid: int) -> str | None:
    """`BOOT_ID:START_TICKS` of process `pid` (field 22 of /proc/PID/stat), or None where
    /proc does not say (the process is gone, or this is not Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        boot = _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return None
    fields = stat.rpartition(b")")[2].split()  # after the name, which may hold spaces
    return f"{boot}:{int(fields[19])}"  # field 3 (the state) is fields[0]


@functools.cache
def own() -> str | None:
    """This process's identity (it never changes)."""
    return of(os.getpid())


@functools.cache
def host() -> str:
    """This machine's name, as rows and the fleet's heartbeats name it."""
    return socket.gethostname()


def instance() -> tuple[str, int, str]:
    """This server among a fleet's: host, pid and the pid's start (`own`, else the pid)."""
    return host(), os.getpid(), own() or str(os.getpid())


def alive(pid: int | None, start: str | None) -> bool:
    """Whether the process that wrote a row still runs: `pid` and, when the row has it,
    the identity it had (rows of older versions have none: the pid alone then)."""
    if not pid:
        return False
    if start is not None:
        return of(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
