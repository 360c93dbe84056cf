"""A Terraform Directory on the simulated cloud, in process, with held plans and its history:
what the approve, rollback and snapshot tests drive directly."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from support.simcloud import SimCloud
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.observer import Observers
from tfhook.errors import ActionFailed
from tfhook.history import History
from tfhook.observe.history_sink import HistorySink
from tfhook.terraform.directory import Directory
from tfhook.terraform.held import Shelf
from tfhook.terraform.snapshots import Keeper


@contextlib.asynccontextmanager
async def held_directory(cloud: SimCloud, state_dir: Path, **action: Any
                         ) -> AsyncIterator[Directory]:
    """The cloud's directory holding unexplained drift, keeping snapshots in `state_dir`;
    closed, with its history flushed, on the way out."""
    history = History(state_dir, keep=86400.0)
    hook = Hook("cloud", TerraformAction(dir=cloud.dir, engine="embedded",
                                         unexplained_drift="hold", **action))
    directory = Directory(hook, dict(cloud.env), Observers([HistorySink(history)]),
                          Shelf(state_dir / "held", 86400.0, "unix:/run/tfhook.sock"),
                          Keeper(state_dir))
    try:
        yield directory
    finally:
        await directory.close()
        await history.flush()
        history.close()


async def hold_run_1(directory: Directory) -> None:
    """A background refresh (it explains nothing) whose drift is held as run-1."""
    with pytest.raises(ActionFailed, match="held as run-1"):
        async for _ in directory.flight.join("reconcile", background=True):
            pass
