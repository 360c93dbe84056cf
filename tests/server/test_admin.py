"""The admin service's transport (#21).

The first tests are a unit test of the transport: the real servicer on a real grpc.aio server
(its own thread and loop), called by tfhook's own client (`ops.admin`) and by raw stubs, over
a small in-memory `Decisions` that records what it was asked. The last ones start a real
`tfhook serve` (no Terraform directory: nothing is held there) to check where the service
answers: on a socket file only, never over TCP or an abstract socket (grpcurl, an independent
client, tries those); the end-to-end tests on real held runs are in tests/cli/test_runs.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from support.servers import HANG_GUARD, abstract_name, free_port, run_tfhook, write_script

from tfhook.config.settings import Settings
from tfhook.core.decisions import HeldRun, Refused, Who
from tfhook.errors import UserError
from tfhook.ops import admin as client
from tfhook.server import admin
from tfhook.server.listen import Listener
from tfhook.v1 import admin_pb2, admin_pb2_grpc

GRPCURL = Path(sys.executable).parent / "grpcurl"
PROTOS = Path(__file__).resolve().parents[2] / "protos"
HELD = (HeldRun(3, "cloud", "/srv/tf", "host pid 1", 1000.0, "unexplained drift",
                ("simcloud_server.db: memory 4 -> 8",)),
        HeldRun(5, "edge", "/srv/edge", "host pid 1", 2000.0, "refused removals",
                ("remove simcloud_server.web[1]", "remove simcloud_server.web[2]")))


@pytest.fixture
def hook(tmp_path: Path) -> Path:
    return write_script(tmp_path / "hook.sh", "echo hi\n")


@dataclass
class Recorded:
    """In-memory Decisions: holds HELD; approve and deny take run-3 once; records each ask."""

    asked: list[tuple[str, int, str, str]] = field(default_factory=list)
    decided: set[int] = field(default_factory=set)

    def held(self) -> list[HeldRun]:
        return [held for held in HELD if held.run not in self.decided]

    async def approve(self, run: int, who: Who) -> str:
        return self._decide("approve", run, who)

    async def deny(self, run: int, who: Who) -> str:
        return self._decide("deny", run, who)

    async def rollback(self, directory: str, run: int, who: Who, *, apply: bool) -> str:
        self.asked.append(("rollback", run, who.user, f"{directory} apply={apply}"))
        return f"rolled back {directory} to before run-{run}" if apply else "1 to change"

    def _decide(self, action: str, run: int, who: Who) -> str:
        self.asked.append((action, run, who.user, who.peer))
        if run != 3 or run in self.decided:
            raise Refused(f"run-{run} is not held here")
        self.decided.add(run)
        return f"{action}d run-{run}"


@dataclass
class Running:
    decisions: Recorded
    sock: Path
    port: int

    @property
    def unix(self) -> str:
        return f"unix:{self.sock}"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """The servicer on a socket file and on 127.0.0.1 (one server: the peer check alone
    guards TCP here), served from a thread of its own so that blocking clients may call."""
    decisions, port = Recorded(), free_port()
    sock = tmp_path / "admin.sock"
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), asyncio.Event()

    async def serve() -> None:
        server = grpc.aio.server()
        listener = Listener(Settings(addr=f"unix:{sock}", socket_mode=0o600))
        admin.Endpoint(admin.AdminService(decisions), listener, None).attach(server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        listener.bind(server)
        await server.start()
        started.set()
        await stop.wait()
        await server.stop(0)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(HANG_GUARD)
    yield Running(decisions, sock, port)
    loop.call_soon_threadsafe(stop.set)
    thread.join(HANG_GUARD)
    loop.close()


def test_held_lists_every_field_in_order(running: Running) -> None:
    assert client.held(running.unix, HANG_GUARD) == list(HELD)


def test_approve_names_the_calling_user_and_returns_the_message(running: Running) -> None:
    assert client.approve(running.unix, 3, HANG_GUARD) == "approved run-3"
    assert running.decisions.asked == [("approve", 3, client.user(), "unix:")]
    assert client.held(running.unix, HANG_GUARD) == [HELD[1]]


def test_a_refusal_is_refused_with_its_message(running: Running) -> None:
    with pytest.raises(Refused, match=r"^run-7 is not held here$"):
        client.deny(running.unix, 7, HANG_GUARD)
    client.deny(running.unix, 3, HANG_GUARD)
    with pytest.raises(Refused, match=r"^run-3 is not held here$"):  # decided already
        client.approve(running.unix, 3, HANG_GUARD)


def test_rollback_carries_directory_run_and_apply(running: Running) -> None:
    assert client.rollback(running.unix, "/srv/tf", 4, False, HANG_GUARD) == "1 to change"
    assert client.rollback(running.unix, "/srv/tf", 4, True, HANG_GUARD) == (
        "rolled back /srv/tf to before run-4")
    assert [ask[3] for ask in running.decisions.asked] == ["/srv/tf apply=False",
                                                           "/srv/tf apply=True"]


def _raw(target: str, method: str, request: object,
         metadata: tuple[tuple[str, str], ...] = (("tfhook-user", "mallory"),)) -> grpc.RpcError:
    with grpc.insecure_channel(target) as channel:
        stub = admin_pb2_grpc.AdminStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            getattr(stub, method)(request, metadata=metadata, timeout=HANG_GUARD)
    return failed.value


def test_a_tcp_peer_is_refused_before_anything_is_decided(running: Running) -> None:
    error = _raw(f"127.0.0.1:{running.port}", "Approve", admin_pb2.DecideRequest(run=3))
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "only on the server's unix socket, not to ipv4:127.0.0.1:" in error.details()
    error = _raw(f"127.0.0.1:{running.port}", "Held", admin_pb2.HeldRequest())
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert running.decisions.asked == []


@pytest.mark.parametrize(("metadata", "run", "problem"), [
    ((), 3, "say who decides"),
    ((("tfhook-user", "e" * 257),), 3, "is not a user name"),
    ((("tfhook-user", "alice"),), 0, "run-0 is not a run id"),
    ((("tfhook-user", "alice"),), -2, "run--2 is not a run id"),
])
def test_bad_input_is_invalid_argument(running: Running, metadata: tuple[tuple[str, str], ...],
                                       run: int, problem: str) -> None:
    error = _raw(running.unix, "Approve", admin_pb2.DecideRequest(run=run), metadata)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert problem in error.details()
    assert running.decisions.asked == []
    assert client.held(running.unix, HANG_GUARD) == list(HELD)  # and it keeps serving


def test_the_client_refuses_tcp_and_abstract_addresses_before_dialing() -> None:
    for addr, kind in (("127.0.0.1:1", "a TCP address"), ("unix-abstract:x", "an abstract socket")):
        with pytest.raises(UserError, match=f"is {kind}: .*--admin-addr unix:PATH"):
            client.approve(addr, 3, HANG_GUARD)


def test_nothing_answering_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^nothing answers at unix:.*none.sock"):
        client.held(f"unix:{tmp_path / 'none.sock'}", 0.5)


# -- a real server --------------------------------------------------------------------------


def _grpcurl(target: str, method: str, data: str) -> subprocess.CompletedProcess[str]:
    unix = ["-unix"] if target.startswith("unix:") else []
    where = target.removeprefix("unix:")
    return subprocess.run(
        [str(GRPCURL), "-plaintext", *unix, "-import-path", str(PROTOS), "-proto", "admin.proto",
         "-H", "tfhook-user: grpcurl", "-d", data, where, method],
        capture_output=True, text=True, timeout=HANG_GUARD, check=False)


def test_beside_tcp_the_admin_socket_answers_and_tcp_does_not(tmp_path: Path, serve,
                                                               hook: Path) -> None:
    port = free_port()
    server = serve("--executable-path", str(hook), "--admin-addr", "unix:adm.sock",
                   "--state-dir", str(tmp_path / "state"), addr=f"127.0.0.1:{port}")
    assert f"admin=unix:{tmp_path / 'adm.sock'}" in server.log()
    assert oct((tmp_path / "adm.sock").stat().st_mode & 0o777) == "0o600"
    over_tcp = _grpcurl(f"127.0.0.1:{port}", "tfhook.admin.v1.Admin/Approve", '{"run": 1}')
    assert over_tcp.returncode != 0 and "Unimplemented" in over_tcp.stderr, over_tcp
    over_socket = _grpcurl(f"unix:{tmp_path / 'adm.sock'}", "tfhook.admin.v1.Admin/Held", "{}")
    assert over_socket.returncode == 0 and json.loads(over_socket.stdout) == {}, over_socket

    refused = run_tfhook(["runs", "approve", "run-1", "--addr", "unix:adm.sock"], tmp_path)
    assert refused.returncode == 1, refused
    assert refused.stderr.startswith("tfhook: refused: run-1 is not held by this server")
    tcp = run_tfhook(["runs", "deny", "run-1", "--addr", f"127.0.0.1:{port}"], tmp_path)
    assert tcp.returncode == 2 and "is a TCP address" in tcp.stderr, tcp
    decisions = run_tfhook(["history", "decisions", "--json", "--state-dir", "state"], tmp_path)
    rows = json.loads(decisions.stdout)
    assert [(r["action"], r["run_id"], r["outcome"]) for r in rows] == [("approve", 1, "refused")]
    server.stop()
    assert not (tmp_path / "adm.sock").exists()


def test_an_abstract_server_does_not_serve_admin_there(tmp_path: Path, serve,
                                                      hook: Path) -> None:
    name = abstract_name()
    server = serve("--executable-path", str(hook), addr=f"unix-abstract:{name}")
    assert "admin=off" in server.log()
    error = _raw(f"unix-abstract:{name}", "Held", admin_pb2.HeldRequest())
    assert error.code() is grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize(("args", "problem"), [
    (["--admin-addr", "127.0.0.1:9"], "--admin-addr: '127.0.0.1:9' is not unix:PATH"),
    (["--admin-addr", "unix-abstract:a"], "--admin-addr: 'unix-abstract:a' is not unix:PATH"),
    (["--admin-addr", "unix:adm.sock", "--addr", "unix:main.sock"],
     "--admin-addr: the admin service answers on --addr unix:main.sock already"),
])
def test_a_bad_admin_addr_is_one_line(tmp_path: Path, hook: Path, args: list[str],
                                     problem: str) -> None:
    done = run_tfhook(["serve", "--executable-path", str(hook), "--addr",
                       "127.0.0.1:0", *args], tmp_path)
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith(f"tfhook: error: {problem}"), done.stderr
