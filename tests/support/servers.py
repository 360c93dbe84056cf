"""Shared test helpers: golden vectors, hook scripts, polling, a real `tfhook serve` process."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tfhook.v1 import handler_pb2, handler_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
# The reference's golden vectors, copied into the project (tests/golden/README.md says from where).
VECTORS = ROOT / "tests" / "golden" / "vectors.jsonl"
SERVICE = "autoscaler.HandleService"
# Test channels retry fast: a server that is still starting must not push us into
# gRPC's default reconnect backoff (1 s and growing).
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 200),
]
REQUEST_CLASS = {
    "PreHandle": handler_pb2.HandleRequest,
    "Handle": handler_pb2.HandleRequest,
    "PostHandle": handler_pb2.PostHandleRequest,
}
# Every deadline in the tests is a hang guard, never a measure: long enough that a 2-CPU
# machine under heavy load (a load average near 12) never reaches it while things progress.
HANG_GUARD = 120.0
HANDLER_TYPE = {"PreHandle": "pre-handle", "Handle": "handle", "PostHandle": "post-handle"}


def load_vectors() -> list[dict[str, Any]]:
    """The golden vectors produced by the reference Go code."""
    with VECTORS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def vector_request(vector: dict[str, Any]) -> Any:
    """Decode a vector's protobuf bytes with tfhook's own generated classes."""
    cls = REQUEST_CLASS[vector["rpc"]]
    return cls.FromString(base64.b64decode(vector["proto_b64"]))


def all_fields(messages: Any) -> Any:
    """Every field of descriptor-proto messages and their nested messages, in order."""
    for message in messages:
        yield from message.field
        yield from all_fields(message.nested_type)


def write_script(path: Path, body: str, shebang: str = "#!/bin/sh") -> Path:
    """Write an executable script (a real file the server will exec)."""
    path.write_text(f"{shebang}\n{body}", encoding="utf-8")
    path.chmod(0o755)
    return path


# A hook that records exactly what it received: argv count, argv[1] and stdin.
RECORDER = """\
d="$(dirname "$0")"
echo "$#" > "$d/argc"
printf '%s' "$1" > "$d/argv1"
cat > "$d/stdin"
echo recorded
"""


def wait_for(predicate: Callable[[], Any], timeout: float = HANG_GUARD, what: str = "condition",
             *, every: float = 0.02) -> Any:
    """Poll until predicate() is truthy; return its value or fail the test.

    `every`: the pause between two tries. A predicate that runs a program (`tfhook history`,
    a call) costs a core while it is polled back to back: give it a pause near the wait's
    own grain (a heartbeat, a reconnection), not a speed check."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def process_state(pid: int) -> str | None:
    """The /proc state letter of a process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    """True while a process runs; a zombie (exited, not yet reaped by its parent) is dead."""
    return process_state(pid) not in (None, "Z", "X")


def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc/<pid>/task/*/children, but for tfhook's
    watchdog (which lives as long as the server: see `watchdog`)."""
    return [child for child in _all_children(pid) if not _is_watchdog(child)]


def wait_watched(server: Served, pid: int) -> None:
    """Wait until a server (at --log-level debug) has told its watchdog of the child `pid`.

    A child runs from the moment it is exec'd; tfhook tells the watchdog of its group right
    after (microseconds on a calm machine). A test that SIGKILLs tfhook as soon as a hook has
    started could land in between on a busy one, and then test that window, not the watchdog.
    """
    wait_for(lambda: "child started" in server.log() and f" pid={pid}" in server.log(),
             what=f"tfhook to tell its watchdog of child {pid}")


def watchdog(pid: int) -> int | None:
    """The watchdog a tfhook server started with its first child, if any."""
    return next((child for child in _all_children(pid) if _is_watchdog(child)), None)


def _all_children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _is_watchdog(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().endswith(b"/tfhook/process/watchdog.py\0")
    except (FileNotFoundError, ProcessLookupError):
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def abstract_name() -> str:
    """A unique abstract socket name, so parallel tests never collide."""
    return f"tfhook-test-{uuid.uuid4().hex}"


def tfhook_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tfhook", *args]


def health_status(channel: grpc.Channel, service: str = "", timeout: float = HANG_GUARD) -> Any:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout).status


@dataclass
class ServerProcess:
    """A running `tfhook serve` subprocess, its log and a client channel to it."""

    proc: subprocess.Popen[bytes]
    target: str
    log_path: Path
    channel: grpc.Channel
    stub: handler_pb2_grpc.HandleServiceStub = field(init=False)
    close_timeout: ClassVar[float] = HANG_GUARD  # how long close() waits after SIGTERM

    def __post_init__(self) -> None:
        self.stub = handler_pb2_grpc.HandleServiceStub(self.channel)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = HANG_GUARD) -> int:
        """Signal the server and wait for it to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not exit after {sig!r}:\n{self.log()}") from None

    def close(self) -> None:
        self.channel.close()
        if self.proc.poll() is None:
            self.stop(timeout=self.close_timeout)

    def wait_serving(self, timeout: float, sock: Path | None = None) -> None:
        """Poll health until SERVING (once `sock`, when given, exists); fail if the server
        exits first or the deadline passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.proc.returncode} before serving:\n{self.log()}"
                )
            if sock is None or sock.exists():
                try:
                    if health_status(self.channel) == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"server not SERVING after {timeout}s:\n{self.log()}")


class Served(ServerProcess):
    """A `tfhook serve` subprocess started by `start_server`."""

    @property
    def cwd(self) -> Path:
        """The server's working directory (its log is written there)."""
        return self.log_path.parent

    def call(self, rpc: str, request: Any, timeout: float = HANG_GUARD) -> list[Any]:
        """Call one RPC and read the whole response stream."""
        return list(getattr(self.stub, rpc)(request, timeout=timeout))


S = TypeVar("S", bound=ServerProcess)


def launch(
    cls: type[S],
    command: Sequence[str],
    *,
    cwd: Path,
    target: str,
    env: dict[str, str] | None,
    timeout: float,
    sock: Path | None = None,
) -> S:
    """Run a `tfhook serve` command (output to a log file in cwd), dial `target` and wait
    until health says SERVING (`sock`: only try once this socket file exists)."""
    log_path = cwd / f"server-{uuid.uuid4().hex[:8]}.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
    server = cls(proc, target, log_path, channel)
    try:
        server.wait_serving(timeout, sock)
    except BaseException:
        server.close()
        raise
    return server


def start_server(
    args: Sequence[str],
    *,
    cwd: Path,
    addr: str,
    target: str | None = None,
    env: dict[str, str] | None = None,
) -> Served:
    """Start `python -m tfhook serve ARGS --addr ADDR` and wait until health says SERVING.

    `target` is what the client dials (defaults to addr); it differs for relative paths.
    """
    return launch(Served, tfhook_command("serve", *args, "--addr", addr), cwd=cwd,
                  target=target or addr, env=env, timeout=HANG_GUARD)


def run_tfhook(args: Sequence[str], cwd: Path, timeout: float = HANG_GUARD
               ) -> subprocess.CompletedProcess[str]:
    """Run `python -m tfhook ARGS` to completion (for commands expected to exit)."""
    return subprocess.run(
        tfhook_command(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, check=False,
    )


def kill_if_alive(pid: int, *, group: bool = False) -> None:
    """A cleanup's SIGKILL to a process (or its group) that may be gone already: tfhook's
    watchdog, a timeout or the test itself may have ended it, and its parent reaped it."""
    with contextlib.suppress(ProcessLookupError):
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
