"""Where a guarded refresh keeps its plan files, and what a tfhook killed outright leaves.

A plan file holds the state and the variables it was made with: secrets. Each plan gets a
private temporary directory (0700) named for the tfhook that made it and removed when the
plan is done; a tfhook killed outright (SIGKILL) cannot remove it, so the first Terraform
directory to start removes the plan directories of tfhooks that are gone (`sweep_once`).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path

import structlog

PREFIX = "tfhook-plan-"
log = structlog.get_logger("tfhook.terraform")


def directory() -> tempfile.TemporaryDirectory[str]:
    """A private directory for one plan, named for this tfhook: tfhook-plan-PID-XXXX."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")


def sweep(where: Path | None = None) -> list[Path]:
    """Remove the plan directories of tfhooks that are gone (only this user's).

    Args:
        where: the temporary directory to look in (default: the system's).

    Returns:
        What was removed.
    """
    removed = []
    for path in Path(where or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = path.name.removeprefix(PREFIX).split("-", 1)[0]
        try:
            mine = path.is_dir() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if pid.isdigit() and mine and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        log.info("removed plan files a killed tfhook left", count=len(removed),
                 paths=" ".join(map(str, removed)))
    return removed


@functools.cache
def sweep_once() -> None:
    """`sweep`, once per tfhook: what is stale at its start stays stale; what it makes it
    removes itself."""
    sweep()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process holds that pid now
    return True
