"""How children are started and read: a new group in our session; endless output still times out."""

from __future__ import annotations

import asyncio
import os

import pytest
from support.servers import alive, wait_for

from tfhook.core.hooks import Limits
from tfhook.errors import ActionTimeout
from tfhook.process import spawn as process


def test_a_child_leads_a_new_group_but_stays_in_our_session() -> None:
    async def main() -> tuple[int, int, int]:
        spec = process.Spec(argv=["/bin/sh", "-c", "echo $$; exec sleep 60"], name="sleeper")
        async with process.Child(spec) as child:
            async for chunk in child.chunks():
                pid = int(chunk)
                return pid, os.getpgid(pid), os.getsid(pid)
        raise AssertionError("no output")

    pid, group, session = asyncio.run(main())
    assert group == pid  # its own group: the stop ladder signals exactly that group
    assert session == os.getsid(0)  # no setsid: no new session (or scheduler autogroup)
    wait_for(lambda: not alive(pid), what="the sleeper to be stopped with its group")


def test_output_that_never_pauses_still_times_out() -> None:
    async def main() -> int:
        spec = process.Spec(argv=["/bin/sh", "-c", "echo $$; exec yes"], name="yes",
                            limits=Limits(timeout=0.5, kill_after=60))  # the timeout is under test
        pid = 0
        async with process.Child(spec) as child:
            async for chunk in child.chunks():
                pid = pid or int(chunk.split(b"\n", 1)[0])
        return pid

    with pytest.raises(ActionTimeout, match='command "yes" timed out after 500ms'):
        asyncio.run(main())


def test_trickling_output_is_read_in_batches_and_complete() -> None:
    script = "for i in $(seq 1 50); do echo line$i; sleep 0.005; done"

    async def main() -> tuple[list[bytes], int]:
        spec = process.Spec(argv=["/bin/sh", "-c", script], name="trickle", read_every=0.2)
        chunks: list[bytes] = []
        async with process.Child(spec) as child:
            async for chunk in child.chunks():
                chunks.append(chunk)
            exit_ = await child.wait()
        return chunks, exit_.returncode

    chunks, returncode = asyncio.run(main())
    assert returncode == 0
    assert b"".join(chunks).split() == [f"line{i}".encode() for i in range(1, 51)]
    assert len(chunks) <= 25  # one wake-up per batch, not one per line
