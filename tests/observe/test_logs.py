"""Logging (tfhook/observe/logs.py): what is logged, and that logging can never break serving."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from support.servers import HANG_GUARD, tfhook_command, wait_for, write_script

from tfhook.core.model import Action, Event, GoJson, Phase, ResourceIds, Status, Update
from tfhook.core.observer import Call, call_end
from tfhook.observe.logs import LogSink
from tfhook.ops import client


def _event(**fields: object) -> Event:
    base: dict[str, object] = dict(phase=Phase.POST_HANDLE, source="s", resource_name="r",
                                   scaling_job_id="j", instruction=0, result=2,
                                   resource_ids=ResourceIds(), request_json=GoJson(b"{}"))
    return Event(**{**base, **fields})  # type: ignore[arg-type]


def _user_shell_env() -> dict[str, str]:
    """The environment of a user's shell: no PYTHONUNBUFFERED (CI's has it), under which
    Python buffers stderr and flushes it once more at exit."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")}


def _serve_with(tmp_path: Path, out: int, err: int) -> tuple[subprocess.Popen[bytes], Path]:
    hook = write_script(tmp_path / "hook", "cat >/dev/null\necho answered\n")
    sock = tmp_path / "s.sock"
    server = subprocess.Popen(
        tfhook_command("serve", "--executable-path", str(hook), "--addr", f"unix:{sock}",
                       "--log-level", "debug"),
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=_user_shell_env(),
    )
    return server, sock


def _calls_then_clean_stop(server: subprocess.Popen[bytes], sock: Path) -> None:
    """Three calls answered, then SIGTERM: exit status 0 and the socket file removed."""
    message = client.request("PostHandle", {"result": "UPDATED"})
    for _ in range(3):
        assert list(client.call(f"unix:{sock}", "PostHandle", message, timeout=HANG_GUARD)) == [
            ("DONE", "answered\n")]
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=HANG_GUARD) == 0
    assert not sock.exists()


def _end(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.kill()
        server.wait()


def test_a_closed_log_pipe_neither_fails_calls_nor_blocks_signals(tmp_path: Path) -> None:
    server, sock = _serve_with(tmp_path, subprocess.DEVNULL, subprocess.PIPE)
    try:
        assert server.stderr is not None
        wait_for(sock.exists, timeout=HANG_GUARD, what="the socket")
        server.stderr.close()  # whoever read the logs is gone: every write now fails
        _calls_then_clean_stop(server, sock)
    finally:
        _end(server)


def _stream(kind: str) -> tuple[int, int]:
    """A reader's and a writer's fd: a pipe, or a unix socket pair as journald's streams are."""
    if kind == "pipes":
        return os.pipe()
    reader, writer = socket.socketpair()
    return reader.detach(), writer.detach()


@pytest.mark.parametrize("kind", ["pipes", "journal-socket"])
def test_tfhook_exits_0_after_a_clean_stop_once_stdout_and_stderr_are_closed(
        tmp_path: Path, kind: str) -> None:
    """`tfhook serve 2>&1 | head`, a log shipper restarted, or journald restarted (its
    stream is a unix socket): the last flush at exit fails, and must not make it exit 120."""
    (out_r, out_w), (err_r, err_w) = _stream(kind), _stream(kind)
    server, sock = _serve_with(tmp_path, out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    try:
        wait_for(sock.exists, timeout=HANG_GUARD, what="the socket")
        os.close(out_r)  # both readers gone: every write fails with EPIPE from now on
        os.close(err_r)
        _calls_then_clean_stop(server, sock)
    finally:
        _end(server)


def test_request_bodies_and_huge_fields_stay_out_of_the_log() -> None:
    secret = "hunter2-password"
    body = GoJson(f'{{"password":"{secret}"}}'.encode())
    event = _event(resource_name="x" * 5000, request_json=body)
    action = Action(event, "executable")

    async def call() -> None:
        call = Call(event, ("executable",))
        await sink.call_start(call)
        await sink.call_end(call, call_end(call, Update(Status.DONE, "ok"), None, []))

    sink = LogSink()
    with capture_logs() as logs:
        sink.route_start(action)
        asyncio.run(call())
    assert [entry["event"] for entry in logs] == ["call started", "call finished"]
    for entry in logs:
        assert secret not in repr(entry)
        assert len(str(entry["resource"])) < 300
        assert str(entry["resource"]).endswith("(5000 characters)")

