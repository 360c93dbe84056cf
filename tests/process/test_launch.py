"""Starting children off the event loop while others run (#25): where each start runs, and a
child whose call is cancelled while it starts is stopped with its group all the same."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from support.servers import alive

from tfhook.core.hooks import Limits
from tfhook.process import spawn as process
from tfhook.process import starter


def sleeper(name: str, tmp_path: Path) -> process.Spec:
    pid_file = tmp_path / f"{name}.pid"
    return process.Spec(argv=["/bin/sh", "-c", f'echo $$ > "{pid_file}"; exec sleep 60'],
                        name=name, limits=Limits(timeout=60, kill_after=5))


def test_a_child_starts_on_the_loop_alone_and_in_a_thread_beside_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []

    def recorded(argv: list[str], *args: Any) -> starter.Started:
        threads.append(threading.current_thread().name)
        return original(argv, *args)

    original = starter.start
    monkeypatch.setattr(starter, "start", recorded)

    async def main() -> None:
        async with process.Child(sleeper("first", tmp_path)) as first:
            async with process.Child(sleeper("second", tmp_path)):
                pass  # leaving stops it (and its group)
            assert first is not None
        async with process.Child(sleeper("third", tmp_path)):
            pass

    asyncio.run(main())
    loop_thread = threading.current_thread().name  # asyncio.run's loop runs in this thread
    assert threads == [loop_thread, "tfhook-spawn_0", loop_thread], threads


def test_a_child_cancelled_while_it_starts_is_stopped_and_the_cancel_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[starter.Started] = []

    def recorded(argv: list[str], *args: Any) -> starter.Started:
        started.append(original(argv, *args))
        return started[-1]

    original = starter.start
    monkeypatch.setattr(starter, "start", recorded)

    async def main() -> str:
        async with process.Child(sleeper("first", tmp_path)):
            starting = asyncio.ensure_future(process.Child(sleeper("second", tmp_path))
                                             .__aenter__())
            await asyncio.sleep(0)  # in its start, off the loop (the first one runs)
            starting.cancel("cut short: the server is stopping")
            try:
                await starting
            except asyncio.CancelledError as exc:
                return str(exc)
        raise AssertionError("the start was not cancelled")

    assert asyncio.run(main()) == "cut short: the server is stopping"
    assert len(started) == 2  # the second one did start
    for child in started:  # both stopped with their groups, and reaped
        assert child.returncode is not None and not alive(child.pid)
