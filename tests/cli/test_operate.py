"""`tfhook history` (cli/operate.py) over a live server's calls: rows, filters, a killed server's
unfinished call, secrets kept out, --history-keep, and a history that cannot be written."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

from support.operate import ECHO, PICKY, SECRETS, history, history_json, secret_request, start, tfhook
from support.servers import (
    HANG_GUARD,
    alive,
    kill_if_alive,
    tfhook_command,
    wait_for,
    wait_watched,
    write_script,
)


def test_calls_through_the_server_are_recorded(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, PICKY)
    for args in (["post-handle", "--resource-type", "elb", "--resource-name", "elb-a",
                  "--job-id", "job-1"],
                 ["handle", "--instruction", "create", "--job-id", "job-1"],
                 ["post-handle", "--source", "fail", "--result", "deleted", "--job-id", "job-2"]):
        tfhook("send", *args, "--addr", served.target, cwd=tmp_path)

    rows = history_json(state)

    assert [(r["id"], r["phase"], r["resource_type"], r["resource_name"], r["scaling_job_id"],
             r["result"], r["instruction"], r["routes"], r["decision"], r["outcome"])
            for r in rows] == [
        (3, "post-handle", "", "", "job-2", "DELETED", "", ["executable"], "ran", "failed"),
        (2, "handle", "", "", "job-1", "", "CREATE", [], "ignored", "empty"),
        (1, "post-handle", "elb", "elb-a", "job-1", "UPDATED", "", ["executable"], "ran", "done"),
    ]
    assert rows[2]["output"] == "DONE: refreshed \n"
    assert "exit status 3" in rows[0]["error"]
    assert [r["id"] for r in history_json(state, "--failed")] == [3]
    assert [r["id"] for r in history_json(state, "--job", "job-1", "--route", "executable")] == [1]
    assert [r["id"] for r in history_json(state, "--limit", "1")] == [3]
    table = history(state).stdout.splitlines()
    assert table[0].split() == ["ID", "TIME", "ROUTE", "RESOURCE", "RESULT", "OUTCOME",
                                "DURATION", "SUMMARY"]
    assert [line.split()[0] for line in table[1:]] == ["3", "2", "1"]
    assert "failed" in table[1] and 'command "' in table[1]
    shown = history(state, "show", "3").stdout
    assert "outcome: failed" in shown and "scaling_job_id: job-2" in shown


def test_history_without_a_database_is_one_line(tmp_path: Path) -> None:
    out = history(tmp_path / "nowhere")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith("tfhook: error: no history in ") and out.stderr.count("\n") == 1
    missing = history(tmp_path / "nowhere", "show", "run-x")
    assert missing.stderr.startswith("tfhook: error: 'run-x': expected a call id")


SLEEPER = 'echo $$ > "$(dirname "$0")/hook.pid"\nexec sleep 60\n'


def test_a_killed_server_leaves_an_unfinished_row(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, SLEEPER, "--log-level", "debug")
    sender = subprocess.Popen(tfhook_command("send", "post-handle", "--addr", served.target,
                                             "--job-id", "cut-short"),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    pid_file = tmp_path / "hook.pid"
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the hook")
    hook_pid = int(pid_file.read_text())
    wait_watched(served, hook_pid)
    try:
        wait_for(lambda: recorded(state), what="the call's row")  # written before the hook ran
        served.proc.send_signal(signal.SIGKILL)
        served.proc.wait(HANG_GUARD)
        _, err = sender.communicate(timeout=HANG_GUARD)
        assert sender.returncode == 1 and "PostHandle failed: UNAVAILABLE" in err
        # tfhook could not stop its hook; its watchdog does, as soon as tfhook is gone.
        wait_for(lambda: not alive(hook_pid), what="the watchdog to stop the hook")
    finally:
        kill_if_alive(hook_pid, group=True)  # when the test failed before the watchdog did

    [row] = history_json(state)
    assert (row["scaling_job_id"], row["outcome"], row["finished"]) == ("cut-short", "unfinished",
                                                                        None)
    line = history(state).stdout.splitlines()[1]
    assert "unfinished" in line and "the server stopped before this call finished" in line
    restarted = start(serve, tmp_path, state, ECHO)
    assert tfhook("send", "post-handle", "--addr", restarted.target, cwd=tmp_path).returncode == 0
    assert [(r["id"], r["outcome"]) for r in history_json(state)] == [(2, "done"),
                                                                      (1, "unfinished")]


def recorded(state: Path) -> int:
    try:
        with sqlite3.connect(state / "history.sqlite3") as conn:
            return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_no_secret_reaches_the_history_send_or_the_logs(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, "cat\n" + PICKY, "--history-requests")
    outputs = []
    for source in ("ok", "fail"):  # a hook that echoes the request, then one that fails with it
        out = tfhook("send", "post-handle", "--addr", served.target, "--from-json", "-",
                     cwd=tmp_path, stdin=secret_request(source))
        outputs += [out.stdout, out.stderr]
    assert "DONE  " in outputs[0] and "PostHandle failed: UNKNOWN" in outputs[3]
    outputs += [history(state, "--json").stdout, history(state).stdout,
                history(state, "show", "1").stdout, history(state, "show", "2").stdout]
    served.stop()

    stored = b"".join(path.read_bytes() for path in state.iterdir())
    assert b"web-01" in stored and b"[redacted]" in stored  # the rows are there
    for secret in SECRETS:
        assert secret.encode() not in stored
        for text in (*outputs, served.log()):
            assert secret not in text


def test_a_bad_history_keep_stops_serve_before_it_listens(tmp_path: Path) -> None:
    hook = write_script(tmp_path / "hook", ECHO)
    out = tfhook("serve", "--executable-path", str(hook), "--history-keep", "a month",
                 "--addr", f"unix:{tmp_path / 's.sock'}", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("tfhook: error: --history-keep: invalid duration 'a month'")
    assert not (tmp_path / "s.sock").exists()


def test_history_keep_0_records_nothing(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO, "--history-keep", "0")
    assert tfhook("send", "post-handle", "--addr", served.target, cwd=tmp_path).returncode == 0
    served.stop()
    assert not state.exists()


def test_a_history_that_cannot_be_written_changes_no_answer(serve, tmp_path: Path) -> None:
    import urllib.request

    from support.servers import free_port

    blocked = tmp_path / "state-is-a-file"
    blocked.write_text("")
    port = free_port()
    (tmp_path / "handler.yaml").write_text(
        f'exporter_config: {{enabled: true, address: "127.0.0.1:{port}"}}\n')
    served = start(serve, tmp_path, blocked, "echo fine\n", "--config", "handler.yaml")

    outs = [tfhook("send", "post-handle", "--addr", served.target, cwd=tmp_path) for _ in "12"]

    assert [(out.returncode, out.stdout) for out in outs] == [(0, "DONE  fine\n")] * 2

    def counted() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=HANG_GUARD) as response:
            return "tfhook_history_write_failures_total 2.0" in response.read().decode()

    wait_for(counted, what="two failed history writes counted")  # the writer thread may lag
    failures = [line for line in served.log().splitlines() if "history write failed" in line]
    assert len(failures) == 2 and all("level=error" in line for line in failures)
