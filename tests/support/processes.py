"""Waiting on real children: the pids a hook wrote down, and their deaths."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from support.servers import HANG_GUARD, alive, wait_for


def read_pids(path: Path, count: int) -> list[int]:
    def ready():
        try:
            pids = [int(p) for p in path.read_text().split()]
        except FileNotFoundError:
            return None
        return pids if len(pids) >= count else None

    return wait_for(ready, what=f"{count} pids in {path}")


def wait_dead(pids: Iterable[int], timeout: float = HANG_GUARD) -> None:
    for pid in pids:
        wait_for(lambda pid=pid: not alive(pid), timeout=timeout, what=f"pid {pid} to die")
