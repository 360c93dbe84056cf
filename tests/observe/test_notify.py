"""Notifications (#23) from a real server to a real HTTP receiver (apprise's JSON webhook):
a lifecycle, not a stream, on the simulated cloud; a receiver that hangs or fails changes no
answer; URLs' tokens appear nowhere; without apprise, start-up says how to install it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from support.receiver import Receiver
from support.servers import HANG_GUARD, env_with, free_port, launch, tfhook_command, wait_for, write_script
from support.simcloud import ELB_ID, SimCloud, main_tf
from support.terraform import TfServer, updated

TOKEN = "Tok3nSecretNotify"


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def _serve(workdir: Path, env: dict[str, str], *args: str) -> TfServer:
    sock = workdir / "s.sock"
    return launch(TfServer, tfhook_command("serve", "--addr", f"unix:{sock}", *args),
                  cwd=workdir, target=f"unix:{sock}", env=env, timeout=HANG_GUARD, sock=sock)


def _routes(tmp_path: Path, cloud: SimCloud, url: str) -> Path:
    probe = write_script(tmp_path / "probe.sh", "echo probing >&2\nexit 1\n")
    routes = tmp_path / "tfhook.yaml"
    routes.write_text(
        "routes:\n"
        "  - name: cloud\n    on_failure: warn\n    match: {resource_type: elb}\n"
        f"    terraform: {{dir: {cloud.dir}, terraform: embedded}}\n"
        f"    notify: {{urls: ['{url}'], on: [failing, recovered, held, revert, refused]}}\n"
        "  - name: probe\n    match: {resource_type: dns}\n"
        f"    executable: {{path: {probe}}}\n    notify: ['{url}']\n")
    return routes


def test_a_lifecycle_not_a_stream(make_simcloud, receiver: Receiver, tmp_path: Path) -> None:
    cloud = make_simcloud(main_tf=main_tf(elb_ignore=()))  # the plan pinned: reverts
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# every route\n{receiver.url('server')}\n")
    routes = _routes(tmp_path, cloud, f"json://user:{TOKEN}@127.0.0.1:{receiver.port}/route")
    state = tmp_path / "state"
    server = _serve(tmp_path, cloud.env, "--routes", str(routes), "--notify-file", str(urls),
                    "--state-dir", str(state))
    try:
        good = cloud.api.read_bytes()
        cloud.api.write_text("not json")  # the cloud's API fails
        for _ in range(2):  # the second call, and any background retry, are silent
            assert "FAILED" in server.call("PostHandle", updated())[-1][1]
        assert receiver.wait(1, "route") == ["failing"]
        cloud.api.write_bytes(good)
        assert server.call("PostHandle", updated())[-1][0] == "DONE"
        assert receiver.wait(2, "route") == ["failing", "recovered"]
        for plan in (400, 100, 400):  # 400 -> 100 warned once, though found twice
            cloud.change("elb", ELB_ID, plan=plan)
            assert server.call("PostHandle", updated())[-1][0] == "DONE"
        cloud.delete("server", cloud.id_of("simcloud_server.web[1]"))
        for _ in range(2):  # held once; the same changes refused again: not told
            assert "held as run-" in server.call("PostHandle", updated())[-1][1]
        server.call_error("PostHandle", updated(kind="dns"))  # the probe fails: told last
        kinds = receiver.wait(5, "route")
        log = server.log()
    finally:
        server.close()
    assert kinds == ["failing", "recovered", "revert", "held", "failing"]
    assert receiver.kinds("server") == kinds  # route and server URLs add up
    bodies = [body["message"] for path, body in receiver.messages if path == "/route"]
    assert "simcloud_elb.main: plan 400 -> 100" in bodies[2]
    assert "instance: " in bodies[0] and "route: cloud, directory: " in bodies[0]
    assert "job: job-1, resource: elb elb" in bodies[0]
    assert "see more: tfhook history show run-" in bodies[3]
    assert "recovered after failing for" in bodies[1]
    assert "job: job-1, resource: elb elb" in bodies[1]  # the call whose run recovered
    _no_token(tmp_path, log, state, routes)


def _no_token(tmp_path: Path, log: str, state: Path, routes: Path) -> None:
    assert TOKEN not in log
    with sqlite3.connect(state / "history.sqlite3") as conn:
        rows = conn.execute("SELECT * FROM calls UNION ALL SELECT * FROM calls").fetchall()
        runs = conn.execute("SELECT * FROM runs").fetchall()
    assert TOKEN not in repr(rows) + repr(runs)
    assert TOKEN.encode() not in (state / "history.sqlite3").read_bytes()
    request = tmp_path / "request.json"
    request.write_text('{"source": "s", "resource_name": "e", "result": "UPDATED", '
                       '"current": {"elb": {"id": "1"}}}')
    for args in (("routes", "explain", str(routes), "--from-json", str(request),
                  "--phase", "post-handle"), ("routes", "check", str(routes))):
        done = subprocess.run(tfhook_command(*args), capture_output=True, text=True,
                              cwd=tmp_path, timeout=HANG_GUARD, check=False)
        assert TOKEN not in done.stdout + done.stderr, args


@pytest.mark.slow
def test_a_receiver_that_hangs_or_fails_changes_no_answer(tmp_path: Path) -> None:
    flag = tmp_path / "fail"
    hook = write_script(tmp_path / "hook.sh", f'echo "run $(cat {flag} 2>/dev/null)"\n'
                        f'test -e {flag} && exit 3\nexit 0\n')
    hanging, failing = Receiver(hang=True), Receiver(status=500)
    port = free_port()
    config = tmp_path / "handler.yaml"
    config.write_text(f'exporter_config: {{enabled: true, address: "127.0.0.1:{port}"}}\n')
    env = env_with(TFHOOK_NOTIFY_URLS=f"{hanging.url()} {failing.url()}")
    answers = {}
    try:
        for name, with_env in (("plain", env_with()), ("notifying", env)):
            (tmp_path / name).mkdir()
            server = _serve(tmp_path / name, with_env, "--executable-path", str(hook),
                            *(("--config", str(config)) if name == "notifying" else ()))
            try:
                answers[name] = _sequence(server, flag)
                if name == "notifying":
                    assert not hanging.gate.is_set()  # every answer came while it hung
                    assert hanging.wait(1) == ["failing"]
                    _failed_six_times(port)  # three notices, each to both URLs
                    assert server.log().count("notification failed") == 2, server.log()
            finally:
                server.close()
    finally:
        hanging.close()
        failing.close()
    assert answers["notifying"] == answers["plain"]
    assert failing.kinds() == ["failing", "recovered", "failing"]


def _sequence(server: TfServer, flag: Path) -> list[object]:
    found: list[object] = []
    for fails in (True, True, False, True):
        flag.write_text("x") if fails else flag.unlink()
        try:
            found.append(server.call("PostHandle", updated()))
        except Exception as exc:  # a failed hook: its gRPC status and message
            found.append((exc.code(), exc.details()))  # type: ignore[attr-defined]
    return found


def _failed_six_times(port: int) -> None:
    """Every failure counted (the hanging receiver's each after apprise stops waiting)."""
    seen = []

    def count() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=HANG_GUARD) as r:
            text = r.read().decode()
        seen[:] = [line for line in text.splitlines() if "notifications_total{" in line]
        return 'tfhook_notifications_total{outcome="failed"} 6.0' in text
    wait_for(count, what=f"six failed notifications counted: {seen}")


def test_configured_without_apprise_exits_2_saying_what_to_install(tmp_path: Path) -> None:
    hook = write_script(tmp_path / "hook.sh", "exit 0\n")
    blocked = ("import sys; sys.modules['apprise'] = None; sys.argv[0] = 'tfhook'; "
               "from tfhook.cli.entry import main; main()")
    done = subprocess.run([sys.executable, "-c", blocked, "serve", "--executable-path",
                           str(hook), "--addr", f"unix:{tmp_path / 's.sock'}"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=HANG_GUARD,
                          env=env_with(TFHOOK_NOTIFY_URLS=f"json://u:{TOKEN}@127.0.0.1:9/x"),
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "pip install 'tfhook[notify]'" in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_nothing_configured_imports_nothing_and_adds_no_observer(tmp_path: Path) -> None:
    code = ("import sys\n"
            "from tfhook.config.settings import Settings\n"
            "from tfhook.server.lifecycle import build_observer\n"
            "observers, _ = build_observer(Settings(env={}))\n"
            "print([type(o).__name__ for o in observers.each],\n"
            "      sorted(m for m in sys.modules if 'apprise' in m or 'notify_send' in m\n"
            "             or m == 'tfhook.observe.notify'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=HANG_GUARD, check=True)
    assert done.stdout == "['LogSink'] []\n", done.stderr
