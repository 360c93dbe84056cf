"""A large request's Go JSON is built off the event loop: it never holds up other calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from support.servers import wait_for, write_script

from tfhook.server.wire import go_json
from tfhook.v1 import handler_pb2 as pb
from tfhook.v1 import handler_pb2_grpc

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
    server = serve("--executable-path", str(hook), "--log-level", "debug")  # `converting request`
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
            # The small call is sent once the large one is being converted (weighed, parsed
            # and its Go JSON built after this line is logged), so it arrives meanwhile.
            await asyncio.to_thread(wait_for, lambda: "converting request" in server.log(),
                                    60, "the large call's conversion to start")
            await asyncio.gather(first, call(small))
        return finished

    finished = asyncio.run(calls())
    assert finished == ["small", "large"]
    assert (tmp_path / "order").read_text().split() == ["small", "large"]


def packed_zeros(disks: int) -> pb.PostHandleRequest:
    """Nothing but empty disks: 3 bytes each on the wire, ~260 bytes each converted."""
    request = pb.PostHandleRequest(result=2)
    for _ in range(disks):
        request.current.server_group_instance.disks.add()
    return request


def refused(server, request: pb.PostHandleRequest) -> str:
    with pytest.raises(grpc.RpcError) as info:
        server.call("PostHandle", request, timeout=60)
    assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    return info.value.details()


def test_a_request_too_costly_to_convert_is_refused_then_calls_go_on(tmp_path, serve) -> None:
    hook = write_script(tmp_path / "hook", "wc -c | tr -d ' '\n")
    server = serve("--executable-path", str(hook), "--payload-argv", "none")
    request = packed_zeros(1_290_000)  # 3.7 MiB
    size = request.ByteSize()
    assert refused(server, request) == (
        f"request of {size} bytes would take more than 64 MiB to convert, the most requests "
        "in conversion may take (--max-conversion-memory): it holds too many fields")
    assert "bad request" in server.log() and "RESOURCE_EXHAUSTED" in server.log()
    # Loses nothing: a request as large made of one long string is converted whole.
    large = pb.PostHandleRequest(result=2)
    large.current.server_group_instance.cloud_config = "x" * (3 * 1024 * 1024)
    answers = server.call("PostHandle", large, timeout=60)
    assert [a.log.strip() for a in answers] == [str(len(go_json(large)))]


def test_max_conversion_memory_sets_the_budget(tmp_path, serve) -> None:
    hook = write_script(tmp_path / "hook", "wc -c | tr -d ' '\n")
    request = large_request()  # 83,000 empty disks: about 24 MiB once converted
    small = serve("--executable-path", str(hook), "--max-conversion-memory", "16MiB")
    assert "more than 16 MiB to convert" in refused(small, request)
    default = serve("--executable-path", str(hook), "--payload-argv", "none")
    answers = default.call("PostHandle", request, timeout=60)
    assert [a.log.strip() for a in answers] == [str(len(go_json(request)))]
