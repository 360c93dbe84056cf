"""An event that meets the plan its directory already holds is no failure (#23): `held` is
told once, and neither `failing` nor, after the approval, `recovered` follows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.simcloud import ELB_ID, SimCloud

from tfhook.core.decisions import Who
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.notices import KINDS, Notify
from tfhook.core.observer import Observers
from tfhook.errors import ActionFailed
from tfhook.history import History
from tfhook.observe.history_sink import HistorySink
from tfhook.observe.notify import Notifier
from tfhook.observe.notify_send import Message
from tfhook.terraform.directory import Directory
from tfhook.terraform.held import Shelf


class Kept:
    """A sender that keeps the messages' titles (nothing is sent)."""

    def __init__(self) -> None:
        self.titles: list[str] = []

    def put(self, message: Message) -> None:
        self.titles.append(message.title)


async def _refresh(directory: Directory) -> None:
    """A background refresh (reconcile): it explains no drift."""
    [u async for u in directory.flight.join("reconcile", background=True)]


def test_a_plan_already_held_tells_held_once_and_no_failure(simcloud: SimCloud,
                                                           tmp_path: Path) -> None:
    state, kept = tmp_path / "state", Kept()
    hook = Hook("cloud", TerraformAction(dir=simcloud.dir, engine="embedded",
                                         unexplained_drift="hold"),
                notify=Notify(("json://127.0.0.1:9/x",), frozenset(KINDS)))
    simcloud.change("elb", ELB_ID, plan=400)  # drift no event explains: held

    async def main() -> None:
        history = History(state, keep=86400.0)
        notifier = Notifier(kept, (), lambda: [hook], "host 127.0.0.1")  # type: ignore[arg-type]
        directory = Directory(hook, dict(simcloud.env), Observers([HistorySink(history), notifier]),
                              Shelf(state / "held", 86400.0, "unix:/run/tfhook.sock"))
        try:
            for _ in range(2):  # held, then the same changes: already held
                with pytest.raises(ActionFailed, match="held as run-1"):
                    await _refresh(directory)
            await directory.approve(1, Who("alice"))
            await _refresh(directory)  # nothing left to change: done
        finally:
            await directory.close()
            await history.flush()
            history.close()

    asyncio.run(main())
    assert [title.split(":")[0] for title in kept.titles] == ["tfhook held"]
