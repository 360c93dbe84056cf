"""Logging (tfhook/logs.py): what is logged, and that logging can never break serving."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

from helpers import tfhook_command, wait_for, write_script
from structlog.testing import capture_logs

from tfhook import client
from tfhook.logs import LogSink
from tfhook.model import Action, Event, GoJson, Phase, ResourceIds, Status, Update
from tfhook.observe import Observer


def _event(**fields: object) -> Event:
    base: dict[str, object] = dict(phase=Phase.POST_HANDLE, source="s", resource_name="r",
                                   scaling_job_id="j", instruction=0, result=2,
                                   resource_ids=ResourceIds(), request_json=GoJson(b"{}"))
    return Event(**{**base, **fields})  # type: ignore[arg-type]


def test_a_closed_log_pipe_neither_fails_calls_nor_blocks_signals(tmp_path: Path) -> None:
    hook = write_script(tmp_path / "hook", "cat >/dev/null\necho answered\n")
    sock = tmp_path / "s.sock"
    server = subprocess.Popen(
        tfhook_command("serve", "--executable-path", str(hook), "--addr", f"unix:{sock}",
                       "--log-level", "debug"),
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.stderr is not None
        wait_for(sock.exists, what="the socket")
        server.stderr.close()  # whoever read the logs is gone: every write now fails
        message = client.request("PostHandle", {"result": "UPDATED"})
        for _ in range(3):
            assert list(client.call(f"unix:{sock}", "PostHandle", message, timeout=10)) == [
                ("DONE", "answered\n")]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
        assert not sock.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_request_bodies_and_huge_fields_stay_out_of_the_log() -> None:
    secret = "hunter2-password"
    body = GoJson(f'{{"password":"{secret}"}}'.encode())
    event = _event(resource_name="x" * 5000, request_json=body)
    action = Action(event, "executable")

    async def call() -> None:
        observer = Observer()
        record = await observer.call_started(event, ("executable",))
        await observer.call_finished(record, Update(Status.DONE, "ok"), None, [])

    with capture_logs() as logs:
        LogSink().started(action)
        asyncio.run(call())
    assert [entry["event"] for entry in logs] == ["call started", "call finished"]
    for entry in logs:
        assert secret not in repr(entry)
        assert len(str(entry["resource"])) < 300
        assert str(entry["resource"]).endswith("(5000 characters)")

