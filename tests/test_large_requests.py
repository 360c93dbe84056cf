"""A large request's Go JSON is built off the event loop: it never holds up other calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from helpers import HANG_GUARD, wait_for, write_script

from tfhook.v1 import handler_pb2 as pb
from tfhook.v1 import handler_pb2_grpc
from tfhook.wire import go_json

# Each hook run notes which call it serves: the large request's argv[1] is "-".
ORDER_HOOK = """\
case "$1" in -) tag=large ;; *) tag=small ;; esac
echo "$tag" >> "$(dirname "$0")/order"
cat >/dev/null
echo "$tag"
"""


def large_request() -> pb.PostHandleRequest:
    """About 250 KB of Go JSON made of many small messages: slow to convert per byte.

    Each item is an empty disk, `{}` in the JSON, whose eleven fields are all asked for:
    the conversion must take long enough for the small call to overtake it.
    """
    request = pb.PostHandleRequest(source="large", resource_name="group", result=2)
    group = request.current.server_group_instance
    group.id = "123456789012"
    for _ in range(83_000):
        group.disks.add()
    return request


def test_a_large_request_does_not_delay_a_small_call(tmp_path: Path, serve) -> None:
    hook = write_script(tmp_path / "hook", ORDER_HOOK)
    server = serve("--executable-path", str(hook), "--log-level", "debug")  # `call started`
    large = large_request()
    assert 240_000 < len(go_json(large)) < 260_000
    small = pb.PostHandleRequest(source="small", resource_name="web", result=2)

    async def calls() -> list[str]:
        finished: list[str] = []
        async with grpc.aio.insecure_channel(server.target) as channel:
            stub = handler_pb2_grpc.HandleServiceStub(channel)

            async def call(request: pb.PostHandleRequest) -> None:
                answers = [a async for a in stub.PostHandle(request, timeout=60)]
                finished.append(answers[-1].log.strip())

            first = asyncio.ensure_future(call(large))
            # The small call is sent once the large one is being handled (its Go JSON is
            # built after this line is logged), so it arrives while that conversion runs.
            await asyncio.to_thread(wait_for, lambda: "call started" in server.log(),
                                    HANG_GUARD, "the large call to start")
            await asyncio.gather(first, call(small))
        return finished

    finished = asyncio.run(calls())
    assert finished == ["small", "large"]
    assert (tmp_path / "order").read_text().split() == ["small", "large"]
