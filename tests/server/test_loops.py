"""The event loop tfhook serves on (--event-loop, #25): uvloop when installed, asyncio's own
as the fallback; a generic call, a failing hook, a hung hook and a stop on each."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import grpc
import pytest
from support.servers import HANG_GUARD, env_with, start_server, tfhook_command, wait_for, write_script

from tfhook.v1 import handler_pb2 as pb

DONE = pb.HandleResponse.DONE
HOOK = """\
case "$TFHOOK_RESOURCE_NAME" in
  fail) echo "no luck" >&2; exit 3 ;;
  hang) echo $$ > "$(dirname "$0")/hung"; exec sleep 300 ;;
esac
printf 'argv=%s stdin=' "$1"; cat
"""


def call(served, name: str, timeout: float = 120) -> list[pb.HandleResponse]:
    request = pb.PostHandleRequest(scaling_job_id="j", result=1, resource_name=name)
    return served.call("PostHandle", request, timeout=timeout)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_generic_server_on_each_loop(tmp_path: Path, loop: str) -> None:
    served = start_server(["--executable-path", str(write_script(tmp_path / "hook", HOOK)),
                           "--timeout", "2s", "--kill-after", "1s", "--event-loop", loop],
                          cwd=tmp_path, addr=f"unix:{tmp_path / 's.sock'}")
    try:
        _serves_calls(served, tmp_path, loop)
    finally:
        served.close()


def _serves_calls(served, tmp_path: Path, loop: str) -> None:
    assert "event=serving " in served.log() and f" event_loop={loop}" in served.log()
    [answer] = call(served, "web")
    assert answer.status == DONE and answer.scaling_job_id == "j"
    body = answer.log.removeprefix("argv=").split(" stdin=")
    assert body[0] == body[1] and '"resource_name":"web"' in body[1]  # argv[1] and stdin: the request
    with pytest.raises(grpc.RpcError) as failed:
        call(served, "fail")
    assert failed.value.code() == grpc.StatusCode.UNKNOWN
    assert failed.value.details() == (f'command "{tmp_path / "hook"}" returned non zero '
                                      "status: exit status 3\nstderr:\nno luck")
    with pytest.raises(grpc.RpcError) as hung:
        call(served, "hang")
    assert hung.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    pid = int((tmp_path / "hung").read_text())
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the hung hook stopped")
    assert call(served, "web")[0].status == DONE  # still serving
    assert served.stop(signal.SIGTERM) == 0


def test_without_uvloop_auto_serves_on_asyncio_and_uvloop_is_refused(tmp_path: Path) -> None:
    # A uvloop that cannot be imported stands in for an install without the fast extra.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "uvloop.py").write_text("raise ImportError('no uvloop here')\n")
    env = env_with(PYTHONPATH=f"{shadow}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    hook = write_script(tmp_path / "hook", HOOK)
    served = start_server(["--executable-path", str(hook)], cwd=tmp_path,
                          addr=f"unix:{tmp_path / 's.sock'}", env=env)
    try:
        assert " event_loop=asyncio" in served.log()
        assert call(served, "web")[0].status == DONE
    finally:
        served.close()
    refused = subprocess.run(tfhook_command(
        "serve", "--executable-path", str(hook), "--event-loop", "uvloop", "--addr",
        f"unix:{tmp_path / 'x.sock'}"), cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "tfhook: error: --event-loop uvloop: uvloop cannot be imported (no uvloop here); install "
        "tfhook[fast], or serve with --event-loop asyncio"]
