"""No orphans (#12): a tfhook killed with SIGKILL leaves no child running and no state locked.

tfhook's watchdog sees it die and stops each child's process group with its stop signal
(SIGTERM for hooks, SIGINT for Terraform, which then stops gracefully and releases its
lock), then SIGKILL after --kill-after. The Terraform test keeps its state in an http
backend served here on loopback, so the lock is one the test can see.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from support.servers import HANG_GUARD, alive, children, wait_for, wait_watched, watchdog, write_script
from support.terraform import (
    SlowCloud,
    processes_in,
    tf_env,
    tfhook_terraform,
    updated,
    write_module,
)

from tfhook.v1 import handler_pb2


class HttpState:
    """Terraform's http state backend: GET/POST the state, LOCK/UNLOCK one lock."""

    def __init__(self) -> None:
        self.state: bytes | None = None
        self.lock: dict[str, Any] | None = None
        self.locks_taken = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200, owner.state) if owner.state else self._answer(404)

            def do_POST(self) -> None:
                owner.state = self.rfile.read(int(self.headers["Content-Length"]))
                self._answer(200)

            def do_LOCK(self) -> None:
                info = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if owner.lock is not None:
                    self._answer(423, json.dumps(owner.lock).encode())
                    return
                owner.lock, owner.locks_taken = info, owner.locks_taken + 1
                self._answer(200)

            def do_UNLOCK(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.lock = None
                self._answer(200)

            def _answer(self, code: int, body: bytes | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def backend(self) -> str:
        return ('terraform {\n  backend "http" {\n'
                f'    address        = "{self.url}/state"\n'
                f'    lock_address   = "{self.url}/lock"\n'
                f'    unlock_address = "{self.url}/lock"\n  }}\n}}\n')

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(HANG_GUARD)


@pytest.fixture
def http_state() -> Iterator[HttpState]:
    backend = HttpState()
    yield backend
    backend.close()


def test_sigkill_stops_terraform_and_releases_the_http_lock(
        tmp_path: Path, tf_serve, cloud: SlowCloud, http_state: HttpState) -> None:
    tf_dir = write_module(tmp_path / "remote", {"backend.tf": http_state.backend(),
                                                "main.tf": cloud.tf()})
    tfhook_terraform(f"-chdir={tf_dir}", "init", "-input=false", "-no-color", cwd=tmp_path)
    plans = tmp_path / "tmp"  # the killed server's plan file stays here, not in /tmp
    plans.mkdir()
    server = tf_serve(tf_dir, env=tf_env(TMPDIR=str(plans)))
    server.stream("PostHandle", updated())
    cloud.requests.get(timeout=HANG_GUARD)  # the refresh holds the lock, reading the slow cloud
    stuck = wait_for(lambda: list(processes_in(tf_dir)), what="Terraform in the directory")
    assert http_state.lock is not None and http_state.locks_taken == 1
    guard = watchdog(server.proc.pid)
    assert guard is not None

    server.proc.kill()  # SIGKILL: tfhook itself cannot stop anything now
    server.proc.wait(HANG_GUARD)

    # Terraform got SIGINT from the watchdog: it says so on its output, which it still can
    # (the watchdog holds a reader); it stops once the read it is in returns.
    terraform, = stuck
    wait_for(lambda: b"Interrupt received" in _output_so_far(terraform, guard),
             what="Terraform to print that it was interrupted")
    cloud.open()
    wait_for(lambda: not any(alive(pid) for pid in stuck),
             what="no Terraform process left")
    assert not list(processes_in(tf_dir))
    assert http_state.lock is None  # released by Terraform itself: no force-unlock needed
    assert http_state.state is None or json.loads(http_state.state)["outputs"] == {}, \
        "the interrupted refresh applied nothing"

    restarted = tf_serve(tf_dir)  # (reads the cloud twice more, now open)
    status, text = restarted.call("PostHandle", updated())[-1]
    assert status == "DONE", text
    assert "slow_ready: (new) → true" in text
    assert http_state.lock is None and http_state.state is not None


def test_a_terraform_the_watchdog_must_kill_is_named_in_the_journal_with_its_lock(
        tmp_path: Path, tf_serve, cloud: SlowCloud) -> None:
    tf_dir = write_module(tmp_path / "stuck", {"main.tf": cloud.tf()})
    # kill_after 1s: Terraform stops on SIGINT only once the read it is in returns, and the
    # slow cloud holds that read until the test opens it.
    server = tf_serve(tf_dir, "--kill-after", "1s")
    server.stream("PostHandle", updated())
    cloud.requests.get(timeout=60)
    stuck = wait_for(lambda: list(processes_in(tf_dir)), timeout=60, what="Terraform running")
    assert watchdog(server.proc.pid) is not None

    server.proc.kill()
    server.proc.wait(60)
    try:
        line = wait_for(lambda: [line for line in server.log().splitlines()
                                 if line.startswith("tfhook watchdog: ")], timeout=60,
                        what="the watchdog's line in tfhook's standard error")
        wait_for(lambda: not any(alive(pid) for pid in stuck), timeout=60,
                 what="Terraform killed while the cloud still holds its read")
    finally:
        cloud.open()
    [text] = line
    assert "tfhook is gone; process group " in text
    assert "did not stop within 1s of its stop signal and was killed (SIGKILL)" in text
    assert f" in {tf_dir}: a Terraform killed this way may leave its state lock held" in text
    assert f"check with `tfhook terraform -chdir={tf_dir} plan -lock-timeout=0s`" in text
    assert f"`tfhook terraform -chdir={tf_dir} force-unlock ID`" in text


_read: dict[int, bytes] = {}


def _link(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # closed meanwhile (a connection Terraform made)
        return ""


def _output_so_far(pid: int, watchdog: int) -> bytes:
    """What a process whose supervisor died has written to its stdout pipe, read through
    the read end the watchdog keeps (/proc/WATCHDOG/fd: the fd on the pipe of its fd 1)."""
    pipe = os.readlink(f"/proc/{pid}/fd/1")
    reader = next(fd for fd in Path(f"/proc/{watchdog}/fd").iterdir() if _link(fd) == pipe)
    fd = os.open(reader, os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            _read[pid] = _read.get(pid, b"") + chunk
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    return _read.get(pid, b"")


def test_sigkill_sends_hooks_their_stop_signal(tmp_path: Path, serve) -> None:
    marks = tmp_path / "marks"
    hook = write_script(tmp_path / "hook", f"""
trap 'echo "TERM $$" >> {marks}; exit 0' TERM
echo "start $$" >> {marks}
while :; do sleep 0.1; done
""")
    server = serve("--executable-path", str(hook), "--log-level", "debug")
    call = threading.Thread(target=lambda: _call_quietly(server), daemon=True)
    call.start()
    wait_for(lambda: marks.exists() and "start" in marks.read_text(), what="the hook to start")
    pid = int(marks.read_text().split()[1])
    wait_watched(server, pid)

    server.proc.kill()
    server.proc.wait(HANG_GUARD)

    wait_for(lambda: "TERM" in marks.read_text(), what="the hook to get SIGTERM")
    assert marks.read_text().splitlines() == [f"start {pid}", f"TERM {pid}"]
    wait_for(lambda: not alive(pid), what="the hook to exit")


def test_sigkill_stops_a_hooks_background_jobs_too(tmp_path: Path, serve) -> None:
    # The job notes SIGTERM and carries on: only SIGKILL, after --kill-after, ends it.
    marks = tmp_path / "marks"
    hook = write_script(tmp_path / "hook", f"""
trap 'echo "TERM $$" >> {marks}; exit 0' TERM
sh -c 'trap "echo job-TERM >> {marks}" TERM; echo "job $$" >> {marks}
       while :; do sleep 0.1; done' &
echo "start $$" >> {marks}
while :; do sleep 0.1; done
""")
    server = serve("--executable-path", str(hook), "--kill-after", "1s", "--log-level", "debug")
    call = threading.Thread(target=lambda: _call_quietly(server), daemon=True)
    call.start()
    started = wait_for(lambda: _marked(marks, "job", "start"), what="the hook and its job")
    wait_watched(server, started["start"])
    guard = watchdog(server.proc.pid)
    assert guard is not None

    server.proc.kill()
    server.proc.wait(HANG_GUARD)

    wait_for(lambda: _marked(marks, "TERM", "job-TERM"), what="SIGTERM to the hook and job")
    wait_for(lambda: not any(alive(pid) for pid in started.values()),
             what="the hook and its job to be gone (the job by SIGKILL)")
    assert _marked(marks, "TERM") == {"TERM": started["start"]}  # the hook's own shell
    wait_for(lambda: not alive(guard), what="the watchdog to exit")


def test_the_watchdog_exits_after_a_clean_stop(tmp_path: Path, serve) -> None:
    hook = write_script(tmp_path / "hook", "exit 0\n")
    server = serve("--executable-path", str(hook))
    assert watchdog(server.proc.pid) is None, "started with the first child"
    server.call("PostHandle", handler_pb2.PostHandleRequest(source="test"))
    guard = watchdog(server.proc.pid)
    assert guard is not None and alive(guard)
    assert children(server.proc.pid) == []  # the hook is reaped; the watchdog stays

    server.stop()

    assert server.proc.returncode == 0
    wait_for(lambda: not alive(guard), what="the watchdog to exit with tfhook")


def _marked(marks: Path, *words: str) -> dict[str, int]:
    """The pid noted beside each of `words` in the marks file, once all are there."""
    lines = marks.read_text().split("\n") if marks.exists() else []
    found = {line.split()[0]: int(line.split()[1]) if len(line.split()) > 1 else 0
             for line in lines if line}
    return {word: found[word] for word in words} if all(w in found for w in words) else {}


def _call_quietly(server: Any) -> None:
    with contextlib.suppress(grpc.RpcError):  # the server is killed mid-call
        server.call("PostHandle", handler_pb2.PostHandleRequest(source="test"))
