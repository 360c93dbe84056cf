"""Memory a request costs in conversion: 32 requests of 3.7 MiB of empty messages at once
(each 3 bytes on the wire, ~260 bytes parsed and converted) are refused, and the server's
memory stays bounded and goes back down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from faultlab import Case, Lab, good_call
from support.servers import wait_for

from tfhook.v1 import handler_pb2 as pb

MIB = 1024 * 1024
AT_ONCE = 32
PEAK_LIMIT_MIB = 300
AFTER_LIMIT_MIB = 100


def packed_zeros(size: int = int(3.7 * MIB)) -> bytes:
    """A PostHandleRequest of `size` bytes that is nearly all empty disks."""
    request = pb.PostHandleRequest(result=2)
    disks = request.current.server_group_instance.disks
    for _ in range(size // 3):  # field 17, length 0: 3 bytes each
        disks.add()
    return request.SerializeToString()


def memory(pid: int, key: str) -> float:
    """VmRSS (now) or VmHWM (the peak) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {key}")


async def _send_all(target: str, data: bytes) -> list[tuple[grpc.StatusCode, str]]:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_stream("/autoscaler.HandleService/PostHandle")

        async def one() -> tuple[grpc.StatusCode, str]:
            try:
                answers = [answer async for answer in call(data, timeout=120)]
            except grpc.aio.AioRpcError as exc:
                return exc.code(), exc.details() or ""
            return grpc.StatusCode.OK, repr(answers)

        return list(await asyncio.gather(*(one() for _ in range(AT_ONCE))))


def packed_zeros_at_once(lab: Lab) -> str:
    served = lab.serve("cat >/dev/null; echo never\n")
    pid = served.proc.pid
    good_call(served)
    data = packed_zeros()
    start = memory(pid, "VmRSS")
    answers = asyncio.run(_send_all(served.target, data))
    peak = memory(pid, "VmHWM")
    assert {code for code, _ in answers} == {grpc.StatusCode.RESOURCE_EXHAUSTED}, answers[:2]
    assert all("(--max-conversion-memory)" in details for _, details in answers), answers[0]
    wait_for(lambda: memory(pid, "VmRSS") < AFTER_LIMIT_MIB, 60,
             f"the server's memory to go back under {AFTER_LIMIT_MIB} MiB")
    after = memory(pid, "VmRSS")
    assert peak < PEAK_LIMIT_MIB, f"peak RSS {peak:.0f} MiB"
    return (f"{AT_ONCE} x {len(data) / MIB:.1f} MiB of empty disks refused; RSS "
            f"{start:.0f} -> peak {peak:.0f} -> {after:.0f} MiB; {good_call(served)}")


CASES = [Case("packed zeros at once", packed_zeros_at_once)]
