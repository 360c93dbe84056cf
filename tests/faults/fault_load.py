"""The load case: many calls at once against one live server, watching its processes,
descriptors and memory from /proc."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from faultlab import ACCEPTED, DONE, Lab, good_call
from support.servers import CHANNEL_OPTIONS, HANG_GUARD, children, process_state, wait_for

from tfhook.v1 import handler_pb2 as pb
from tfhook.v1 import handler_pb2_grpc

MIB = 1024 * 1024


@dataclass
class Report:
    calls: int
    concurrency: int
    failed: int = 0
    waited: int = 0  # calls told ACCEPTED (beyond --max-concurrency) before their DONE
    zombies: int = 0
    fds_before: int = 0
    fds_after: int = 0
    rss_at_sample: int = 0
    rss_end: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def growth_mib(self) -> float:
        return (self.rss_end - self.rss_at_sample) / MIB


def fds(pid: int) -> int:
    return len(open_fds(pid))


def open_fds(pid: int) -> list[str]:
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if "/.local/state/tfhook/" not in target:  # the history's SQLite files come and go
            found.append(target)
    return sorted(found)


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def zombies(pid: int) -> int:
    return sum(process_state(child) == "Z" for child in children(pid))


def run(lab: Lab, *, calls: int, concurrency: int, sample_at: int) -> Report:
    """`calls` PostHandle calls, `concurrency` at a time, against a fresh server."""
    served = lab.serve("cat >/dev/null; echo ok\n")
    pid = served.proc.pid
    good_call(served)
    # A warm-up first: what the server opens once (its history's WAL files...) is not a leak.
    asyncio.run(_drive(served.target, Report(concurrency * 2, concurrency), pid, 0))
    wait_for(lambda: not children(pid), HANG_GUARD, "the warm-up hooks to be reaped")
    report = Report(calls, concurrency, fds_before=fds(pid))
    before = open_fds(pid)
    started = time.monotonic()
    asyncio.run(_drive(served.target, report, pid, sample_at))
    report.seconds = time.monotonic() - started
    wait_for(lambda: not children(pid), HANG_GUARD, "the hooks to be reaped")
    report.zombies = zombies(pid)
    report.rss_end = rss(pid)
    # Descriptors settle once the last pipes are closed.
    try:
        wait_for(lambda: fds(pid) <= report.fds_before, HANG_GUARD, "descriptors to settle")
    except AssertionError:
        extra = Counter(open_fds(pid)) - Counter(before)
        report.errors.append(f"descriptors left open: {sorted(extra.elements())}")
    report.fds_after = fds(pid)
    good_call(served)
    return report


async def _drive(target: str, report: Report, pid: int, sample_at: int) -> None:
    # One client channel, as a load generator would; the Core dials one per call.
    done = 0
    queue = iter(range(report.calls))
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        stub = handler_pb2_grpc.HandleServiceStub(channel)

        async def worker() -> None:
            nonlocal done
            for i in queue:
                request = pb.PostHandleRequest(resource_name=f"load-{i}", result=2)
                try:
                    statuses = [a.status async for a in stub.PostHandle(request, timeout=300)]
                except grpc.RpcError as exc:
                    report.failed += 1
                    report.errors.append(f"{exc.code()}: {exc.details()}")
                    continue
                if statuses[-1:] != [DONE]:
                    report.failed += 1
                report.waited += ACCEPTED in statuses
                done += 1
                if done == sample_at:
                    report.rss_at_sample = rss(pid)

        await asyncio.gather(*(worker() for _ in range(report.concurrency)))
