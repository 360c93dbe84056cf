"""systemd's notify protocol (#24): what a real server sends to $NOTIFY_SOCKET, in order, on
a socket the test owns (READY=1 only once health answers SERVING, RELOADING=1 and READY=1
around a SIGHUP reload, STOPPING=1, STATUS=, WATCHDOG=1), and that neither hooks nor
Terraform see the socket or the watchdog."""

from __future__ import annotations

import signal
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2
from support.servers import (
    CHANNEL_OPTIONS,
    HANG_GUARD,
    abstract_name,
    health_status,
    launch,
    tfhook_command,
    wait_for,
    write_script,
)
from support.terraform import Recorder, TfServer, tf_env

SYSTEMD_ONLY = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
SERVING = health_pb2.HealthCheckResponse.SERVING


class NotifySocket:
    """A datagram socket in systemd's place: every message, split into its fields. When a
    READY=1 arrives, the server's health is asked at once (what systemd's dependants see)."""

    def __init__(self, address: str, target: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.2)
        self.target = target
        self.messages: list[list[str]] = []
        self.health_at_ready: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            fields = data.decode().split("\n")
            if "READY=1" in fields:
                with grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS) as channel:
                    self.health_at_ready.append(health_status(channel))
            self.messages.append(fields)

    def events(self) -> list[str]:
        """The messages' first fields, pings and bare status updates left out."""
        return [m[0] for m in list(self.messages) if m[0] != "WATCHDOG=1"
                and not m[0].startswith("STATUS=")]

    def statuses(self) -> list[str]:
        return [f for m in list(self.messages) for f in m if f.startswith("STATUS=")]

    def wait(self, what: str, found: Callable[[], object]) -> None:
        wait_for(found, what=what)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(HANG_GUARD)
        self.sock.close()


def start(workdir: Path, env: dict[str, str], *args: str) -> tuple[TfServer, str]:
    sock = workdir / f"s-{uuid.uuid4().hex[:6]}.sock"
    target = f"unix:{sock}"
    server = launch(TfServer, tfhook_command("serve", *args, "--addr", target), cwd=workdir,
                    target=target, env=env, timeout=HANG_GUARD, sock=sock)
    return server, target


def test_terraform_routes_tell_systemd_ready_reloading_stopping_in_order(
        tmp_path: Path) -> None:
    tf_dir = tmp_path / "infra"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text('output "answer" {\n  value = 42\n}\n')
    recorder = Recorder.create(tmp_path)
    (tmp_path / "tfhook.yaml").write_text(
        f"routes:\n  - {{name: state, terraform: {{dir: infra, terraform: {recorder.path}}}}}\n")
    target = f"unix:{tmp_path / 'served.sock'}"
    notify = NotifySocket(str(tmp_path / "notify.sock"), target)
    env = tf_env(NOTIFY_SOCKET=str(tmp_path / "notify.sock"), WATCHDOG_USEC="1000000")
    server = launch(TfServer, tfhook_command(
        "serve", "--routes", "tfhook.yaml", "--state-dir", "state", "--addr", target),
        cwd=tmp_path, target=target, env=env, timeout=HANG_GUARD, sock=tmp_path / "served.sock")
    try:
        assert server.call("PostHandle", {"resource_name": "elb", "result": "UPDATED"}
                           )[-1][0] == "DONE"
        notify.wait("a status naming the run", lambda: [
            s for s in notify.statuses() if "last run run-" in s and "state done" in s])
        server.proc.send_signal(signal.SIGHUP)
        notify.wait("READY=1 after the reload", lambda: notify.events().count("READY=1") == 2)
        notify.wait("a ping", lambda: ["WATCHDOG=1"] in notify.messages)
        assert server.stop() == 0
    finally:
        server.close()
        notify.close()

    assert notify.events() == ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]
    assert notify.health_at_ready == [SERVING, SERVING]
    first = notify.messages[0]
    assert first[0] == "READY=1" and first[1].startswith(f"STATUS=serving state on {target}; dirs ")
    [reloading] = [m for m in notify.messages if m[0] == "RELOADING=1"]
    assert reloading[1].startswith("MONOTONIC_USEC=") and int(reloading[1].split("=")[1]) > 0
    pings = [i for i, m in enumerate(notify.messages) if m == ["WATCHDOG=1"]]
    assert pings and pings[0] > 0  # none before READY=1
    # Terraform ran (start-up checks and the refresh) without the socket or the watchdog.
    invocations = recorder.invocations()
    assert len(invocations) >= 3
    for _, child_env in invocations:
        assert child_env["CHECKPOINT_DISABLE"] == "1"
        assert not set(SYSTEMD_ONLY) & set(child_env), sorted(set(SYSTEMD_ONLY) & set(child_env))


HOOK = 'cat >/dev/null\necho "notify=${NOTIFY_SOCKET-unset} watchdog=${WATCHDOG_USEC-unset}' \
       ' pid=${WATCHDOG_PID-unset} path=${PATH:+set}"\n'


def test_a_hook_on_an_abstract_socket_sees_no_notify_socket_and_no_foreign_watchdog(
        tmp_path: Path) -> None:
    write_script(tmp_path / "hook.sh", HOOK)
    name = abstract_name()
    sock = tmp_path / "served.sock"
    notify = NotifySocket("\0" + name, f"unix:{sock}")
    # WATCHDOG_PID names another process: the watchdog is not tfhook's, so no pings.
    env = tf_env(NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="200000", WATCHDOG_PID="1")
    server = launch(TfServer, tfhook_command(
        "serve", "--executable-path", "./hook.sh", "--addr", f"unix:{sock}"),
        cwd=tmp_path, target=f"unix:{sock}", env=env, timeout=HANG_GUARD, sock=sock)
    try:
        done = server.call("PostHandle", {"resource_name": "web", "result": "UPDATED"})[-1]
        assert done == ("DONE", "notify=unset watchdog=unset pid=unset path=set\n")
        notify.wait("a status naming the call", lambda: [
            s for s in notify.statuses() if "last call executable done at " in s])
        assert server.stop() == 0
    finally:
        server.close()
        notify.close()
    assert notify.events() == ["READY=1", "STOPPING=1"]
    assert notify.health_at_ready == [SERVING]
    assert ["WATCHDOG=1"] not in notify.messages


def test_a_notify_socket_nobody_reads_changes_no_answer(tmp_path: Path) -> None:
    write_script(tmp_path / "hook.sh", "cat >/dev/null\necho ok\n")
    server, _ = start(tmp_path, tf_env(NOTIFY_SOCKET=str(tmp_path / "gone.sock")),
                      "--executable-path", "./hook.sh")
    try:
        for _ in range(2):
            assert server.call("PostHandle", {"resource_name": "web"})[-1] == ("DONE", "ok\n")
        assert server.stop() == 0
    finally:
        server.close()
    refused = [line for line in server.log().splitlines()
               if "systemd notify socket refused a message" in line]
    assert len(refused) == 1 and "gone.sock" in refused[0], server.log()
