"""What every part of the benchmark shares: a served tfhook, process figures, statistics."""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from tfhook.v1 import handler_pb2 as pb
from tfhook.v1 import handler_pb2_grpc

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
BIN = Path(sys.executable).parent
TFHOOK = [str(BIN / "tfhook")] if (BIN / "tfhook").exists() else [sys.executable, "-m", "tfhook"]
CAT_HOOK = "#!/bin/sh\nexec cat\n"
CORECLIENT = Path(__file__).parent / ".bin" / "coreclient"  # `make bench` builds it


def request(result: int = pb.PostHandleRequest.UPDATED, server_id: str = "113000000001"
            ) -> pb.PostHandleRequest:
    """A PostHandle as the Core sends it after scaling a server up."""
    message = pb.PostHandleRequest(source="bench", resource_name="web", scaling_job_id="web",
                                   result=result)
    server = message.current.server
    server.id, server.zone, server.core, server.memory, server.name = (
        server_id, "is1a", 2, 4, "web-1")
    return message


def write_hook(path: Path, body: str = CAT_HOOK) -> Path:
    path.write_text(body, encoding="utf-8")
    path.chmod(0o755)
    return path


def cpu_seconds(pid: int) -> float:
    """CPU time of the process itself (not of its children)."""
    return sum(cpu_by_thread(pid).values())


def cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds of the process's threads by who runs them: `python` (the event loop, the
    history writer, grpcio's poller: threads named as the process) and `grpc` (gRPC's
    C-core threads: event_engine and the like). From each thread's schedstat, in
    nanoseconds; /proc/PID/stat counts only whole clock ticks (10 ms)."""
    own = Path(f"/proc/{pid}/comm").read_text().strip()
    found = {"python": 0.0, "grpc": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            spent = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended
        found["python" if name == own else "grpc"] += spent
    return found


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Served:
    """A `tfhook serve` child; `started_in` is spawn to its `serving` log line."""

    def __init__(self, args: Sequence[str], workdir: Path, env: dict[str, str] | None = None,
                 launcher: Sequence[str] = ()) -> None:
        self.sock = workdir / f"{uuid.uuid4().hex[:8]}.sock"
        self.addr = f"unix:{self.sock}"
        self.lines: list[str] = []
        self._serving = threading.Event()
        started = time.perf_counter()
        self.proc = subprocess.Popen([*launcher, *TFHOOK, "serve", *args, "--addr", self.addr],
                                     cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._serving.wait(300):
            self.close()
            raise RuntimeError("tfhook did not start:\n" + "".join(self.lines[-20:]))
        self.started_in = self._serving_at - started
        self.channel = grpc.insecure_channel(self.addr)
        self.stub = handler_pb2_grpc.HandleServiceStub(self.channel)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if not self._serving.is_set() and "event=serving" in line:
                self._serving_at = time.perf_counter()
                self._serving.set()
            self.lines.append(line)
        self._serving.set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, message: Any, stub: Any = None) -> list[Any]:
        return list((stub or self.stub).PostHandle(message, timeout=600))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "channel"):
            self.channel.close()


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def terraform_on_path() -> str | None:
    return shutil.which("terraform")


class CoreClient:
    """The Core-like client (bench/coreclient, grpc-go): calls one after another, or N calls
    always in flight, on one connection or a new one per call as the Core dials."""

    name = "grpc-go (bench/coreclient)"

    def __init__(self, addr: str, workdir: Path, message: Any, rpc: str = "PostHandle") -> None:
        self.addr = addr
        self.request = workdir / f"{rpc}-{uuid.uuid4().hex[:8]}.bin"
        self.request.write_bytes(message.SerializeToString())
        self.method = f"/autoscaler.HandleService/{rpc}"
        self.cpu_per_call = 0.0  # of the client itself, in the last latencies()

    @staticmethod
    def available() -> bool:
        return os.access(CORECLIENT, os.X_OK)

    def _run(self, *args: str) -> Any:
        done = subprocess.run([str(CORECLIENT), "-target", self.addr, "-method", self.method,
                               "-request", str(self.request), *args],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"coreclient failed: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def latencies(self, calls: int, one_channel: bool) -> list[float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples = self._run("-calls", str(calls), *(["-one-channel"] if one_channel else []))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_per_call = (after.ru_utime + after.ru_stime - before.ru_utime
                             - before.ru_stime) / calls
        return [float(x) for x in samples]

    def rate(self, concurrency: int, seconds: float, new_connection: bool = False
             ) -> tuple[int, float]:
        result = self._run("-concurrency", str(concurrency), "-seconds", str(seconds),
                           *(["-new-connection"] if new_connection else []))
        return int(result["calls"]), result["calls"] / result["seconds"]
