"""What a live server records, counts and logs for calls and Terraform runs."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.servers import (
    HANG_GUARD,
    alive,
    free_port,
    kill_if_alive,
    tfhook_command,
    wait_for,
    wait_watched,
    write_script,
)
from support.terraform import elb_plan, simulate, updated

BROKEN = 'resource "terraform_data" "broken" {\n  input = \n}\n'


def exporter(tmp_path: Path) -> tuple[str, int]:
    """A handler config that turns the exporter on; (its path, its port)."""
    port = free_port()
    path = tmp_path / "handler.yaml"
    path.write_text(f'exporter_config: {{enabled: true, address: "127.0.0.1:{port}"}}\n')
    return str(path), port


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=HANG_GUARD) as response:
        text: str = response.read().decode()
    return text


def value(metrics: str, name: str, **labels: str) -> float:
    """One sample's value (0 when the series is not there yet)."""
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            return float(match.group(2))
    return 0.0


def rows(state: Path, table: str) -> list[dict[str, Any]]:
    """The table's rows, oldest first; none while the server has not made the database."""
    try:
        conn = sqlite3.connect(f"{(state / 'history.sqlite3').as_uri()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return []


def history(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tfhook_command("history", *args, "--state-dir", str(state)),
                          capture_output=True, text=True, timeout=60, check=False)


def log_lines(log: str, event: str) -> list[str]:
    return [line for line in log.splitlines() if f'event="{event}"' in line
            or f"event={event} " in line]


def test_calls_and_runs_are_recorded_counted_and_logged(demo: Path, tf_serve, tmp_path: Path
                                                        ) -> None:
    state = tmp_path / "state"
    config, port = exporter(tmp_path)
    simulate(demo, 400)
    server = tf_serve(demo, "--state-dir", str(state), "--config", config, "--refresh-on-start")
    wait_for(lambda: [r for r in rows(state, "runs") if r["outcome"] == "done"],
             what="the start-up run recorded")
    before = scrape(port)
    assert value(before, "tfhook_runs_total", route="terraform", trigger="start",
                 outcome="done") == 1
    assert value(before, "tfhook_calls_total", phase="post-handle") == 0
    assert value(before, "tfhook_retry_pending", route="terraform") == 0  # there from the start

    simulate(demo, 800)
    answers = server.call("PostHandle", updated(scaling_job_id="job-1"))
    assert answers[-1][0] == "DONE" and elb_plan(demo) == 800

    [start_run, event_run] = wait_for(lambda: [r for r in rows(state, "runs")
                                               if r["finished"] is not None][1:] and
                                      rows(state, "runs"), what="the event's run completed")
    assert (start_run["triggers"], start_run["outcome"]) == ('["start"]', "done")
    assert (event_run["route"], event_run["triggers"], event_run["outcome"]) == (
        "terraform", '["event"]', "done")
    assert event_run["directory"] == str(demo)
    assert json.loads(event_run["outputs_changed"]) == ["elb_plan: 400 → 800"]
    assert "terraform_data.elb" in json.loads(event_run["refreshed"])
    [call] = wait_for(lambda: [r for r in rows(state, "calls") if r["finished"]],
                      what="the call completed")
    assert (call["scaling_job_id"], call["routes"], call["decision"], call["run_id"],
            call["outcome"], call["resource_type"], call["result"]) == (
        "job-1", '["terraform"]', "ran", event_run["id"], "done", "elb", "UPDATED")

    after = scrape(port)
    assert value(after, "tfhook_calls_total", phase="post-handle", route="terraform",
                 outcome="done") == 1
    assert value(after, "tfhook_call_duration_seconds_count", phase="post-handle",
                 route="terraform") == 1
    assert value(after, "tfhook_call_duration_seconds_bucket", le="1800.0") == 1
    assert value(after, "tfhook_runs_total", trigger="event", outcome="done") == 1
    assert value(after, "tfhook_run_duration_seconds_count", trigger="event") == 1
    assert value(after, "tfhook_outputs_changed_total", route="terraform") == 2
    assert value(after, "tfhook_resources_refreshed_total") > value(
        before, "tfhook_resources_refreshed_total") > 0
    assert value(after, "tfhook_last_success_timestamp_seconds", route="terraform") >= value(
        before, "tfhook_last_success_timestamp_seconds", route="terraform") > 0
    assert value(after, "tfhook_calls_in_flight", phase="post-handle") == 0
    assert value(after, "tfhook_runs_in_flight", route="terraform") == 0

    table = history(state, "runs").stdout.splitlines()
    assert table[0].split() == ["ID", "STARTED", "ROUTE", "TRIGGERS", "OUTCOME", "DURATION",
                                "SUMMARY"]
    assert [line.split()[0] for line in table[1:]] == ["run-2", "run-1"]
    assert "event" in table[1] and "outputs changed 1" in table[1]
    assert "run_id: 2" in history(state, "show", str(call["id"])).stdout
    assert "outputs_changed: elb_plan: 400 → 800" in history(state, "show", "run-2").stdout

    log = server.log()
    [serving] = log_lines(log, "serving")
    assert "version=" in serving and "mode=terraform" in serving and f"dirs={demo}" in serving
    assert "engine=" in serving
    assert f"http://127.0.0.1:{port}/metrics" in log
    [finished] = log_lines(log, "call finished")
    for field in ("routes=terraform", "resource=", "job=job-1", "result=UPDATED",
                  'decision="ran (run 2)"', "duration=", "level=info"):
        assert field in finished, finished
    [done] = [line for line in log_lines(log, "run done") if "triggers=event" in line]
    assert "elb_plan: 400 → 800" in done and "level=info" in done
    server.stop()
    assert log_lines(server.log(), "stopped")[-1].count("calls_cut_short=0") == 1


@pytest.mark.slow
def test_a_refresh_failing_in_warn_mode_shows_in_runs_and_retries(demo: Path, tf_serve,
                                                                  tmp_path: Path) -> None:
    state = tmp_path / "state"
    config, port = exporter(tmp_path)
    server = tf_serve(demo, "--state-dir", str(state), "--config", config, "--on-failure",
                      "warn", "--log-level", "error")
    (demo / "broken.tf").write_text(BROKEN)

    answers = server.call("PostHandle", updated())

    assert answers[-1][0] == "DONE"  # the Core is not failed ...
    def retry_failed() -> str | None:
        metrics = scrape(port)
        return metrics if value(metrics, "tfhook_runs_total", trigger="retry",
                                outcome="failed") >= 1 else None

    metrics = wait_for(retry_failed, what="a failed retry counted")
    # ... but the runs are failing, and a retry is pending.
    assert value(metrics, "tfhook_runs_total", trigger="event", outcome="failed") == 1
    assert value(metrics, "tfhook_retry_pending", route="terraform") == 1
    assert value(metrics, "tfhook_calls_total", outcome="done") == 1
    assert value(metrics, "tfhook_last_success_timestamp_seconds", route="terraform") == 0
    failed = [r for r in rows(state, "runs") if r["outcome"] == "failed"]
    assert [r["triggers"] for r in failed][:2] == ['["event"]', '["retry"]']
    assert "Invalid expression (broken.tf:2)" in failed[0]["error"]
    # --log-level error still shows the failure, with Terraform's diagnostic.
    [first, *_] = log_lines(server.log(), "run failed")
    assert "level=error" in first and "Invalid expression (broken.tf:2)" in first
    assert "level=info" not in server.log() and "level=warn " not in server.log()

    (demo / "broken.tf").unlink()
    wait_for(lambda: value(scrape(port), "tfhook_retry_pending", route="terraform") == 0,
             what="the retry to succeed")
    assert value(scrape(port), "tfhook_runs_total", trigger="retry", outcome="done") == 1


FAILING = "echo \"the hook saw $1\" >&2; echo 'refresh broke' >&2; exit 3\n"
PASSWORD = "Pw-observe-5511<&>"
SSH_KEY = "ssh-ed25519 AAAAC3NzaOBSERVEKEYq operator@host"


def secret_request(job: str) -> dict[str, Any]:
    return {"source": "core", "resource_name": "web", "scaling_job_id": job, "result": 2,
            "current": {"Resource": {"ServerGroupInstance": {
                "name": "web-01",
                "edit_parameter": {"password": PASSWORD, "ssh_keys": [SSH_KEY]}}}}}


@pytest.mark.parametrize("level", ["error", "debug"])
def test_a_failed_call_is_one_error_line_without_secrets(serve, tmp_path: Path, level: str
                                                         ) -> None:
    state = tmp_path / "state"
    config, port = exporter(tmp_path)
    hook = write_script(tmp_path / "hook", FAILING)
    server = serve("--executable-path", str(hook), "--state-dir", str(state), "--config", config,
                   "--log-level", level)
    send = tfhook_command("send", "post-handle", "--addr", server.target, "--from-json", "-")
    out = subprocess.run(send, input=json.dumps(secret_request("job-f")), capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 1
    wait_for(lambda: log_lines(server.log(), "call failed"), what="the failure logged")
    metrics = scrape(port)
    server.stop()

    [line] = log_lines(server.log(), "call failed")
    assert "level=error" in line and "refresh broke" in line and "[redacted]" in line
    assert "job=job-f" in line and "result=UPDATED" in line and "outcome=failed" in line
    assert value(metrics, "tfhook_calls_total", phase="post-handle", route="executable",
                 outcome="failed") == 1
    stored = b"".join(path.read_bytes() for path in state.iterdir())
    assert b"refresh broke" in stored
    for secret in (PASSWORD, "Pw-observe-5511", "AAAAC3NzaOBSERVEKEYq"):
        for text in (server.log(), metrics, out.stdout):
            assert secret not in text
        assert secret.encode() not in stored


# The hook looks for its own call's row before it does anything, then waits to be killed.
CHECKS_ITS_ROW = """\
import json, os, sqlite3, sys, time
here = os.path.dirname(os.path.abspath(__file__))
job = json.loads(sys.argv[1])["scaling_job_id"]
db = sqlite3.connect(os.environ["STATE"] + "/history.sqlite3")
found = db.execute("SELECT id, finished FROM calls WHERE scaling_job_id = ?", (job,)).fetchall()
with open(os.path.join(here, "seen.json"), "w") as out:
    json.dump({"rows": found, "pid": os.getpid()}, out)
time.sleep(120)
"""


def test_sigkill_leaves_the_row_the_hook_saw_before_it_started(serve, tmp_path: Path) -> None:
    state = tmp_path / "state"
    hook = write_script(tmp_path / "hook", CHECKS_ITS_ROW, shebang=f"#!{sys.executable}")
    server = serve("--executable-path", str(hook), "--state-dir", str(state), "--log-level",
                   "debug", env={**os.environ, "STATE": str(state)})
    sender = subprocess.Popen(tfhook_command("send", "post-handle", "--addr", server.target,
                                             "--job-id", "killed"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen_file = tmp_path / "seen.json"
    seen = wait_for(lambda: seen_file.exists() and seen_file.read_text() and
                    json.loads(seen_file.read_text()), what="the hook's check")
    wait_watched(server, seen["pid"])
    try:
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(HANG_GUARD)
        sender.wait(HANG_GUARD)
        # tfhook could not stop its hook; its watchdog does, as soon as tfhook is gone.
        wait_for(lambda: not alive(seen["pid"]), what="the watchdog to stop the hook")
    finally:
        kill_if_alive(seen["pid"])  # when the test failed before the watchdog did
    assert seen["rows"] == [[1, None]]  # on disk, not finished, before the hook ran
    listed = json.loads(history(state, "--json").stdout)
    assert [(r["id"], r["outcome"]) for r in listed] == [(1, "unfinished")]


def test_stopping_says_how_many_calls_were_cut_short(serve, tmp_path: Path) -> None:
    state = tmp_path / "state"
    hook = write_script(tmp_path / "hook", 'touch "$(dirname "$0")/started"\nexec sleep 60\n')
    server = serve("--executable-path", str(hook), "--state-dir", str(state), "--grace", "0.5s")
    sender = subprocess.Popen(tfhook_command("send", "post-handle", "--addr", server.target,
                                             "--job-id", "long"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for((tmp_path / "started").exists, what="the hook")
        assert server.stop() == 0
    finally:
        sender.wait(HANG_GUARD)
    assert log_lines(server.log(), "stopped")[-1].endswith("calls_cut_short=1")
    [row] = rows(state, "calls")
    assert (row["scaling_job_id"], row["outcome"], row["decision"]) == ("long", "cancelled", "ran")
