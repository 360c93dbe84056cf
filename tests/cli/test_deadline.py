"""`send --timeout` and `check --timeout` bound the whole call: a hook that sleeps, a socket
that never speaks. The --timeout under test is short; HANG_GUARD only stops a hung test."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import HANG_GUARD, alive, kill_if_alive, tfhook_command, wait_for, write_script

# Sleeps for requests from source "slow" (its pid in slow.pid first); answers at once otherwise.
SLOW = """\
case "$1" in *'"source":"slow"'*) echo $$ > slow.pid; exec sleep 300;; esac
echo fast
"""


def tfhook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tfhook_command(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False, stdin=subprocess.DEVNULL)


def test_send_timeout_bounds_the_call_and_the_server_keeps_serving(serve, tmp_path: Path
                                                                   ) -> None:
    served = serve("--executable-path", str(write_script(tmp_path / "hook", SLOW)),
                   "--state-dir", str(tmp_path / "state"))
    out = tfhook("send", "post-handle", "--source", "slow", "--timeout", "2s",
                 "--addr", served.target, cwd=served.cwd)
    pid = int((served.cwd / "slow.pid").read_text())
    try:
        assert (out.returncode, out.stdout) == (1, "")
        assert out.stderr == "PostHandle: not done within --timeout 2s; the call was cancelled\n"
        # The cancelled call stops the hook, as the Core going away does.
        wait_for(lambda: not alive(pid), what="the hook to be stopped")
    finally:
        kill_if_alive(pid)
    later = tfhook("send", "post-handle", "--timeout", "2s", "--addr", served.target,
                   cwd=served.cwd)
    assert (later.returncode, later.stdout, later.stderr) == (0, "DONE  fast\n", "")


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[str]:
    """A socket that takes connections and never answers (a hung handler)."""
    path = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        sock.listen(8)
        yield f"unix:{path}"


@pytest.mark.parametrize("command", [["check"], ["send", "post-handle"]])
def test_a_handler_that_never_answers_the_health_check_is_left_at_the_timeout(
        silent: str, tmp_path: Path, command: list[str]) -> None:
    out = tfhook(*command, "--addr", silent, "--timeout", "2s", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith(f"tfhook: error: nothing answers at {silent}: DEADLINE_EXCEEDED")
    assert out.stderr.count("\n") == 1
