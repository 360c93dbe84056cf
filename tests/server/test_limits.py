"""Limits the host imposes: open files (raised for tfhook, the original for its children)
and connections no call uses (closed after --max-connection-idle)."""

from __future__ import annotations

import json
import os
import resource
import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from support.servers import Served, launch, tfhook_command, wait_for, write_script

from tfhook.v1 import handler_pb2 as pb
from tfhook.v1 import handler_pb2_grpc

DONE = pb.HandleResponse.DONE
SOFT, HARD = 1024, 4096  # the usual soft limit, and a hard limit above it
IDLE = 1100  # connections that make no call: more than the soft limit allows
# An HTTP/2 client's first bytes: the preface, then an empty SETTINGS frame.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
SETTINGS, GOAWAY = 4, 7
SETTINGS_ACK = bytes([0, 0, 0, SETTINGS, 1, 0, 0, 0, 0])


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[list[Served]]:
    """Servers started with RLIMIT_NOFILE (SOFT, HARD); stopped at teardown."""
    started: list[Served] = []
    yield started
    for served in started:
        served.close()


def serve_limited(started: list[Served], tmp_path: Path, *args: str,
                  soft: int = SOFT, env: dict[str, str] | None = None) -> Served:
    sock = tmp_path / f"l{len(started)}.sock"
    # Set by util-linux's prlimit, not a preexec_fn: this test process uses gRPC, whose fork
    # handlers abort a child forked for a preexec_fn now and then (SIGABRT, "epoll_wait error").
    limit = ["prlimit", f"--nofile={soft}:{HARD}", "--"]
    served = launch(Served, [*limit, *tfhook_command("serve", *args, "--addr", f"unix:{sock}")],
                    cwd=tmp_path, target=f"unix:{sock}", env=env, timeout=60.0)
    started.append(served)
    return served


def open_files(pid: int) -> tuple[int, int]:
    """A process's (soft, hard) open files limit, from /proc."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open files line")


def test_tfhook_raises_its_limit_and_children_get_the_original(tmp_path, limited) -> None:
    hook = write_script(tmp_path / "hook", "cat >/dev/null; echo $(ulimit -Sn) $(ulimit -Hn)\n")
    served = serve_limited(limited, tmp_path, "--executable-path", str(hook))
    assert open_files(served.proc.pid) == (HARD, HARD)
    assert f"open_files={HARD} " in served.log()
    answers = served.call("PostHandle", pb.PostHandleRequest(result=2), timeout=60)
    assert [(a.status, a.log) for a in answers] == [(DONE, f"{SOFT} {HARD}\n")]


# A hook that answers with its whole environment and its open files limit (Python, not
# /bin/sh: dash itself drops the names that are not shell identifiers).
ENV_HOOK = """\
import json, os, resource, sys
sys.stdin.read()
print(json.dumps([dict(os.environ), resource.getrlimit(resource.RLIMIT_NOFILE)]))
"""


def test_children_get_the_environment_exactly_under_the_original_limit(
        tmp_path, limited) -> None:
    env = {key: value for key, value in os.environ.items() if key != "OLDPWD"}
    env.update({"TF_VAR_my-token": "xyz", "a.b": "dotted", "9lives": "digit first",
                "TF_VAR_multi": "line one\nline two\n", "TF_VAR_plain": "abc"})
    hook = write_script(tmp_path / "hook", ENV_HOOK, shebang=f"#!{sys.executable}")
    seen = []
    for soft in (SOFT, HARD):  # raised (children get SOFT back), then nothing to raise
        served = serve_limited(limited, tmp_path, "--executable-path", str(hook),
                               soft=soft, env=env)
        answers = served.call("PostHandle", pb.PostHandleRequest(result=2), timeout=60)
        assert [a.status for a in answers] == [DONE]
        seen.append(json.loads(answers[0].log))
    (raised_env, raised_limit), (direct_env, direct_limit) = seen
    assert (raised_limit, direct_limit) == ([SOFT, HARD], [HARD, HARD])
    assert raised_env == direct_env
    assert "OLDPWD" not in raised_env
    assert {key: raised_env[key] for key in ("TF_VAR_my-token", "a.b", "9lives", "TF_VAR_multi")
            } == {key: env[key] for key in ("TF_VAR_my-token", "a.b", "9lives", "TF_VAR_multi")}


def idle_connection(path: Path) -> tuple[socket.socket, bytes]:
    """A unix connection that speaks HTTP/2 (preface, settings acknowledged) and then makes
    no call; and what the server sent until then."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(60)  # a hang guard
    conn.connect(str(path))
    conn.sendall(PREFACE)
    received = b""
    while not any(kind == SETTINGS and flags == 0 for kind, flags, _ in frames(received)):
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection before its settings"
        received += chunk
    conn.sendall(SETTINGS_ACK)
    return conn, received


def test_idle_connections_beyond_the_soft_limit_leave_calls_working(tmp_path, limited) -> None:
    own_soft, own_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if own_hard != resource.RLIM_INFINITY and own_hard < IDLE + 200:
        pytest.skip(f"this test needs {IDLE + 200} open files (hard limit {own_hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(own_soft, IDLE + 200), own_hard))
    hook = write_script(tmp_path / "hook", "cat >/dev/null; echo ok\n")
    served = serve_limited(limited, tmp_path, "--executable-path", str(hook))
    conns = [idle_connection(tmp_path / "l0.sock")[0] for _ in range(IDLE)]
    try:
        pid = served.proc.pid
        wait_for(lambda: len(list(Path(f"/proc/{pid}/fd").iterdir())) > IDLE, 60,
                 f"the server to hold {IDLE} connections")
        # A call on the connection made at start, then one on a new connection.
        answers = served.call("PostHandle", pb.PostHandleRequest(result=2), timeout=60)
        assert [(a.status, a.log) for a in answers] == [(DONE, "ok\n")]
        with grpc.insecure_channel(served.target) as channel:
            stub = handler_pb2_grpc.HandleServiceStub(channel)
            answers = list(stub.PostHandle(pb.PostHandleRequest(result=2), timeout=60))
        assert [(a.status, a.log) for a in answers] == [(DONE, "ok\n")]
    finally:
        for conn in conns:
            conn.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (own_soft, own_hard))


def frames(data: bytes) -> list[tuple[int, int, bytes]]:
    """HTTP/2 frames (type, flags, payload) in what a server sent."""
    found = []
    while len(data) >= 9:
        length = int.from_bytes(data[:3], "big")
        found.append((data[3], data[4], data[9:9 + length]))
        data = data[9 + length:]
    return found


def test_an_idle_connection_is_closed_after_the_bound(tmp_path, limited) -> None:
    hook = write_script(tmp_path / "hook", "cat >/dev/null; echo ok\n")
    served = serve_limited(limited, tmp_path, "--executable-path", str(hook),
                           "--max-connection-idle", "1s")
    assert "max_connection_idle=1s" in served.log()
    conn, received = idle_connection(tmp_path / "l0.sock")
    with conn:
        while chunk := conn.recv(65536):  # until the server closes it (60 s hang guard)
            received += chunk
    kind, _, payload = frames(received)[-1]
    assert kind == GOAWAY, frames(received)
    last_stream, _ = struct.unpack(">II", payload[:8])
    assert (last_stream, payload[8:]) == (0, b"connection idle")  # gRPC's reason
    # A client whose connection was closed simply reconnects for its next call.
    answers = served.call("PostHandle", pb.PostHandleRequest(result=2), timeout=60)
    assert [(a.status, a.log) for a in answers] == [(DONE, "ok\n")]


@pytest.mark.parametrize(("script", "reason"), [
    ("#!/no/such/interpreter\necho never\n", "its #! interpreter was not found"),
    ("echo never, no #! line\n", "Exec format error"),
])
def test_a_hook_that_cannot_start_says_why_under_the_original_limit(
        tmp_path, limited, script: str, reason: str) -> None:
    # Children start through prlimit to get the original limit back: exec's reasons are kept.
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\necho fine\n")
    hook.chmod(0o755)
    served = serve_limited(limited, tmp_path, "--executable-path", str(hook))
    hook.write_text(script)
    with pytest.raises(grpc.RpcError) as info:
        served.call("PostHandle", pb.PostHandleRequest(result=2), timeout=60)
    assert info.value.code() is grpc.StatusCode.UNKNOWN
    assert f'command "{hook}" could not start: ' in info.value.details()
    assert reason in info.value.details()
