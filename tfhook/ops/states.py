"""`tfhook state`: the snapshots a server saved before its applies, and a rollback without a
server (the directory a snapshot names, rolled back from this process: Terraform's state
lock keeps other writers out; a server that serves the directory is asked with --addr)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import sqlite3
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from tfhook import controls
from tfhook.core.decisions import Refused, Who
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.observer import Decision, Observer, Observers
from tfhook.errors import UserError
from tfhook.history import History, query
from tfhook.observe.history_sink import HistorySink
from tfhook.runners import decisions
from tfhook.terraform.directory import Directory
from tfhook.terraform.snapshots import Keeper, Snapshot

COLUMNS = ("run", "time", "serial", "lineage", "size")


def listing(root: Path, directory: Path) -> str:
    """The snapshots of `directory` kept in `root`, oldest first, as a table."""
    wanted = os.path.realpath(directory)
    found = [shot for shot in Keeper(root).records()
             if os.path.realpath(shot.directory) == wanted]
    if not found:
        return f"no snapshots of {directory.absolute()} in {root}\n"
    return _table([COLUMNS, *(_cells(shot) for shot in found)])


def _cells(shot: Snapshot) -> tuple[str, ...]:
    when = datetime.fromtimestamp(shot.time).strftime("%Y-%m-%d %H:%M:%S")
    return (shot.name, when, "-" if shot.serial is None else str(shot.serial), shot.lineage,
            f"{shot.size} B")


def _table(lines: list[tuple[str, ...]]) -> str:
    lines = [tuple(controls.escape(cell) for cell in line) for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)
                             ).rstrip() + "\n" for line in lines)


def rollback(root: Path, run: int, *, apply: bool, env: Mapping[str, str], user: str) -> str:
    """What rolling the directory back to the state before run-`run` changes; with `apply`,
    the push, recorded as a run in the history in `root`. Raises Refused."""
    # This process does not know how many the server keeps: it prunes by age only.
    keeper = Keeper(root, keep=sys.maxsize)
    shot = keeper.find(run)
    if shot is None:
        raise Refused(f"no snapshot of run-{run} in {keeper.folder} (it never applied "
                      "anything, or it was pruned: `tfhook state snapshots DIR` lists them)")
    hook = Hook(_route(root, run), TerraformAction(dir=Path(shot.directory), engine=shot.engine))
    return asyncio.run(_rollback(hook, keeper, run, apply, env, Who(user, "local")))


def _route(root: Path, run: int) -> str:
    """The route of run-`run` as the history names it ("rollback" when it names none)."""
    with contextlib.suppress(UserError, sqlite3.Error), query.reading(root) as conn:
        row = query.run(conn, run)
        if row is not None and row["route"]:
            return str(row["route"])
    return "rollback"


def through(addr: str, root: Path, run: int, *, apply: bool, timeout: float) -> str:
    """The rollback of run-`run` done by the server at `addr` (its admin service), under the
    single flight of the directory the snapshot in `root` names. Raises Refused."""
    from tfhook.ops import admin

    shot = Keeper(root).find(run)
    if shot is None:
        raise Refused(f"no snapshot of run-{run} in {Keeper(root).folder} (give the server's "
                      "--state-dir: the snapshot names the directory to roll back)")
    return admin.rollback(addr, shot.directory, run, apply, timeout)


async def _rollback(hook: Hook, keeper: Keeper, run: int, apply: bool, env: Mapping[str, str],
                    who: Who) -> str:
    # The run's row, in the same history as the runs it undoes (kept: pruning is the server's).
    history = History(keeper.root, keep=math.inf) if apply else None
    observer: Observer = Observers([HistorySink(history)] if history else [])
    directory = Directory(hook, dict(env), observer, snapshots=keeper)
    work = functools.partial(directory.rollback, run, who, apply=apply)
    try:
        if not apply:
            return await work()
        # A decision row, as a rollback through the server writes (its log line is the CLI's).
        return await decisions.decide(observer, Decision(
            "rollback", run, who.user, "", "", str(directory.action.dir), hook.name, who.peer),
            work)
    finally:
        await directory.close()
        if history is not None:
            await history.flush()
            history.close()
