"""What every fault case uses: a lab that starts real `tfhook serve` processes with a hook
that misbehaves on demand and answers "good" calls normally, and the good call itself.

The cases run under pytest (`make test`) and from `make stress`, which prints what held.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from support.servers import HANG_GUARD, Served, alive, start_server, wait_for, write_script

from tfhook.v1 import handler_pb2 as pb

DONE = pb.HandleResponse.Status.Value("DONE")
ACCEPTED = pb.HandleResponse.Status.Value("ACCEPTED")
# Every hook answers a call for the resource named "good" like a well-behaved hook, so the
# good call after each fault reaches the same server and the same script.
GOOD_PREFIX = """\
if [ "$TFHOOK_RESOURCE_NAME" = good ]; then cat >/dev/null; echo good; exit 0; fi
"""


@dataclass
class Case:
    """One fault: a name, and a check that runs it in a lab and says what held."""

    name: str
    check: Callable[[Lab], str]


class Lab:
    """A directory of hooks and the servers started on them; `close` stops them all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.servers: list[Served] = []

    def hook(self, body: str, *, prefix: str = GOOD_PREFIX) -> Path:
        """A /bin/sh hook: the good-call prefix, then `body` (the fault)."""
        return write_script(self.root / f"hook-{uuid.uuid4().hex[:8]}", prefix + body)

    def serve(self, body: str, *flags: str, addr: str | None = None) -> Served:
        """A server running `body` as its generic-mode hook (PostHandle)."""
        return self.serve_path(self.hook(body), *flags, addr=addr)

    def serve_path(self, hook: Path, *flags: str, addr: str | None = None) -> Served:
        addr = addr or f"unix:{self.root / f's{len(self.servers)}.sock'}"
        served = start_server(["--executable-path", str(hook), *flags], cwd=self.root, addr=addr)
        self.servers.append(served)
        return served

    def close(self) -> None:
        for served in self.servers:
            served.close()


def lab_in(root: Path) -> Iterator[Lab]:
    lab = Lab(root)
    try:
        yield lab
    finally:
        lab.close()


def good_call(served: Served) -> str:
    """The call after a fault: it must go through and reach the hook."""
    answers = served.call("PostHandle", pb.PostHandleRequest(resource_name="good", result=2))
    assert [(a.status, a.log.strip()) for a in answers] == [(DONE, "good")], answers
    assert served.proc.poll() is None
    return "next call DONE"


def failed_call(served: Served, request: Any = None, timeout: float = 60.0) -> grpc.RpcError:
    """Call PostHandle, expecting an error status; the error."""
    try:
        served.call("PostHandle", request or pb.PostHandleRequest(resource_name="f"), timeout)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError("the call succeeded")


def read_pids(path: Path, count: int) -> list[int]:
    """PIDs a hook wrote, one a line, once all `count` are there."""
    def ready() -> list[int] | None:
        found = path.read_text().split() if path.exists() else []
        return [int(p) for p in found] if len(found) >= count else None
    return list(wait_for(ready, HANG_GUARD, f"{count} pids in {path}"))


def all_dead(pids: list[int], timeout: float = HANG_GUARD) -> str:
    wait_for(lambda: not any(alive(pid) for pid in pids), timeout, f"{pids} to be gone")
    return f"{len(pids)} processes gone"


def last_line(served: Served) -> str:
    lines = [line for line in served.log().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def stop(served: Served) -> int:
    return served.stop(signal.SIGTERM, timeout=60)


def elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"
