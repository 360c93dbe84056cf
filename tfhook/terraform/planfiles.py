"""Where a guarded refresh keeps its plan files, and what a tfhook killed outright leaves.

A plan file holds the state and the variables it was made with: secrets. Each plan gets a
private temporary directory (0700) named for the tfhook that made it and removed when the
plan is done; a tfhook killed outright (SIGKILL) cannot remove it, so the first Terraform
directory to start removes the plan directories of tfhooks that are gone (`sweep_once`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import structlog

PREFIX = "tfhook-plan-"
VARIABLES = "variables.tfvars.json"
log = structlog.get_logger("tfhook.terraform")


def directory() -> tempfile.TemporaryDirectory[str]:
    """A private directory for one plan, named for this tfhook: tfhook-plan-PID-XXXX."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")


def write_variables(where: Path, variables: Sequence[tuple[str, str]]) -> Path | None:
    """The `var:` values as a variables file (0600) in a plan directory, or None for none.

    Terraform takes `-var=K=V` on its command line, where every local user reads it (`ps`);
    a file keeps the value private, and `-var-file` in the same place keeps its precedence
    (the environment would rank below `*.auto.tfvars`). Each value is JSON, taken literally
    (no `${}` template): a `--var` string, or a routes file's value with its type.

    Args:
        where: the plan directory (0700), removed with the file when the plan is done.
        variables: (name, value as JSON text) pairs; a later value for a name wins, as with
            `-var`.

    Returns:
        The file's path, or None when there are no variables.
    """
    if not variables:
        return None
    values = {name: json.loads(value) for name, value in variables}
    path = where / VARIABLES
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(values, file, ensure_ascii=False)
    return path


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
