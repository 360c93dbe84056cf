"""`tfhook send`, `check` and `history` against a live server, a dead socket and bad input."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.servers import (
    HANG_GUARD,
    Served,
    alive,
    kill_if_alive,
    tfhook_command,
    wait_for,
    wait_watched,
    write_script,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "vectors.jsonl"
ECHO = "cat\n"  # answers with the request it got (secrets included)
# Fails for requests from source "fail", printing its request to stderr first.
PICKY = """\
case "$1" in *'"source":"fail"'*) printf '%s\\n' "$1" >&2; echo oops >&2; exit 3;; esac
echo "refreshed $2"
"""


def tfhook(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tfhook_command(*args), cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=HANG_GUARD, check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def vector(name: str) -> dict[str, Any]:
    with GOLDEN.open(encoding="utf-8") as lines:
        return next(v for v in map(json.loads, lines) if v["name"] == name)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def start(serve, tmp_path: Path, state: Path, body: str, *args: str) -> Served:
    hook = write_script(tmp_path / "hook", body)
    return serve("--executable-path", str(hook), "--state-dir", str(state), *args)


def test_send_applies_the_flags_and_prints_the_answer(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO)
    out = tfhook("send", "post-handle", "--addr", served.target, "--result", "created",
                 "--resource-type", "elb", "--resource-name", "my-elb", "--source", "grafana",
                 "--job-id", "job-7", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == ('DONE  {"source":"grafana","resource_name":"my-elb","scaling_job_id":'
                          '"job-7","result":1,"current":{"Resource":{"Elb":{}}}}\n')


def test_resource_and_parent_ids_set_the_ids_target_from_event_uses(serve, tmp_path: Path,
                                                       state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO)
    out = tfhook("send", "post-handle", "--addr", served.target, "--resource-type", "elb",
                 "--resource-id", "113300000001", "--job-id", "j", "--source", "s", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == ('DONE  {"source":"s","scaling_job_id":"j","result":2,'
                          '"current":{"Resource":{"Elb":{"id":"113300000001"}}}}\n')
    # On top of --from-json, the flag replaces the id the JSON had and keeps the rest.
    go_json = vector("post_result_created")["go_json"]
    assert '"id":"113400000001"' in go_json
    (tmp_path / "request.json").write_text(go_json)
    out = tfhook("send", "post-handle", "--addr", served.target, "--from-json", "request.json",
                 "--resource-id", "999", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == f"DONE  {go_json.replace('113400000001', '999')}\n"
    # The parent's id, which target_from_event refreshes too.
    out = tfhook("send", "post-handle", "--addr", served.target, "--resource-type", "server",
                 "--resource-id", "1", "--parent-type", "elb", "--parent-id", "2", "--job-id",
                 "j", "--source", "s", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == ('DONE  {"source":"s","scaling_job_id":"j","result":2,"current":'
                          '{"Resource":{"Server":{"parent":{"Resource":{"Elb":{"id":"2"}}},'
                          '"id":"1"}}}}\n')


@pytest.mark.parametrize("name", ["resource_elb", "server_parent_elb", "resource_load_balancer",
                                  "desired_empty_resource", "handle_instruction_out_of_range_99"])
def test_from_json_sends_what_the_reference_wrote(serve, tmp_path: Path, state: Path,
                                                  name: str) -> None:
    served = start(serve, tmp_path, state, ECHO, "--handler-type", "handle")
    go_json = vector(name)["go_json"]
    (tmp_path / "request.json").write_text(go_json, encoding="utf-8")

    from_file = tfhook("send", "handle", "--addr", served.target, "--from-json", "request.json",
                       cwd=tmp_path)
    from_stdin = tfhook("send", "handle", "--addr", served.target, "--from-json", "-",
                        cwd=tmp_path, stdin=go_json)

    assert from_file.stdout == from_stdin.stdout == f"DONE  {go_json}\n", from_file.stderr
    assert from_file.returncode == from_stdin.returncode == 0


def test_from_json_takes_protobuf_json(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO, "--handler-type", "handle")
    request = {"resourceName": "elb", "instruction": "UPDATE",
               "desired": {"elb": {"id": "113300000001", "plan": 400}}}
    out = tfhook("send", "handle", "--addr", served.target, "--from-json", "-", cwd=tmp_path,
                 stdin=json.dumps(request))
    assert out.stdout == ('DONE  {"resource_name":"elb","instruction":2,"desired":{"Resource":'
                          '{"Elb":{"id":"113300000001","plan":400}}}}\n')


def test_each_streamed_line_of_a_log_is_printed(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, "echo one; echo two\n")
    out = tfhook("send", "post-handle", "--addr", served.target, cwd=tmp_path)
    assert out.stdout == "DONE  one\n      two\n"


def test_a_phase_with_nothing_to_do_exits_0_and_says_so(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO)
    out = tfhook("send", "pre-handle", "--addr", served.target, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "")
    assert out.stderr == "PreHandle: the handler answered with an empty stream (nothing to do)\n"


def test_a_grpc_error_exits_1_with_code_and_message(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, PICKY)
    out = tfhook("send", "post-handle", "--addr", served.target, "--source", "fail", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.startswith("PostHandle failed: UNKNOWN: ")
    assert "exit status 3" in out.stderr and "oops" in out.stderr


def dead_socket(tmp_path: Path) -> str:
    """A socket file nobody listens on (what a killed server leaves)."""
    path = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    return f"unix:{path}"


@pytest.mark.parametrize("command", [["send", "post-handle"], ["check"]])
def test_nothing_answering_exits_2(tmp_path: Path, command: list[str]) -> None:
    for addr in (dead_socket(tmp_path), f"unix:{tmp_path / 'missing.sock'}"):
        out = tfhook(*command, "--addr", addr, cwd=tmp_path)
        assert out.returncode == 2, out
        assert out.stderr.startswith(f"tfhook: error: nothing answers at {addr}: UNAVAILABLE")
        assert out.stdout == ""


def test_check_answers_serving(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO)
    out = tfhook("check", "--addr", served.target, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, f"{served.target}: SERVING\n")


BAD_INPUT = [
    (["post-handle", "--from-json", "missing.json"], "--from-json: cannot read missing.json"),
    (["post-handle", "--from-json", "broken.json"], "broken.json: not valid JSON"),
    (["post-handle", "--from-json", "list.json"], "list.json: expected a JSON object, got list"),
    (["handle", "--from-json", "post.json"], "post.json: not a Handle request"),
    (["post-handle", "--result", "bogus"], "--result: 'bogus' is not one of created, updated, deleted, "
                                              "no-change, unknown"),
    (["post-handle", "--instruction", "update"], "--instruction: only for pre-handle and handle"),
    (["handle", "--resource-type", "vm"], "--resource-type: 'vm' is not one of server"),
    (["post-handle", "--resource-id", "1"], "--resource-id: say the resource's type too"),
    (["post-handle", "--resource-type", "dns", "--parent-id", "1"],
     "--parent-id, --parent-type: dns has no parent (server, server_group_instance and elb"),
    (["post-handle", "--resource-type", "server", "--parent-id", "1"],
     "--parent-id: say the parent's type too (--parent-type)"),
    (["post-handle", "--resource-type", "elb", "--parent-type", "vm"],
     "--parent-type: 'vm' is not one of elb, gslb, dns, load_balancer"),
    (["sideways"], "'sideways' is not one of pre-handle, handle, post-handle"),
    ([], "say which phase to send"),
]


@pytest.mark.parametrize("args,message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_line(serve, tmp_path: Path, state: Path, args: list[str],
                                         message: str) -> None:
    served = start(serve, tmp_path, state, "touch called\n")
    (tmp_path / "broken.json").write_text('{"result": ')
    (tmp_path / "list.json").write_text("[1]")
    (tmp_path / "post.json").write_text('{"result": 2}')
    out = tfhook("send", *args, "--addr", served.target, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith(f"tfhook: error: {message}"), out.stderr
    assert out.stderr.count("\n") == 1 and out.stdout == ""
    assert not (tmp_path / "called").exists()


def history(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return tfhook("history", "--state-dir", str(state), *args, cwd=state.parent)


def history_json(state: Path, *args: str) -> list[dict[str, Any]]:
    out = history(state, "--json", *args)
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


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


PASSWORD = "Pw-of-the-test-9731<&>"
SSH_KEY = "ssh-ed25519 AAAAC3NzaTESTKEYxyzzy operator@host"
CLOUD = "#cloud-config\nchpasswd: {list: 'root:CloudSecret-5521'}"


def secret_request(source: str) -> str:
    return json.dumps({
        "source": source, "resource_name": "web", "scaling_job_id": "job-s", "result": 2,
        "current": {"Resource": {"ServerGroupInstance": {
            "name": "web-01",
            "edit_parameter": {"host_name": "web-01", "password": PASSWORD, "ssh_keys": [SSH_KEY],
                               "startup_scripts": ["#!/bin/sh\necho ScriptSecret-8812\n"]},
            "cloud_config": CLOUD}}}})


SECRETS = (PASSWORD, "Pw-of-the-test-9731", "AAAAC3NzaTESTKEYxyzzy", "CloudSecret-5521",
           "ScriptSecret-8812")


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


def test_replay_sends_a_recorded_request_without_its_secrets(serve, tmp_path: Path,
                                                             state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO, "--history-requests")
    tfhook("send", "post-handle", "--addr", served.target, "--from-json", "-", cwd=tmp_path,
           stdin=secret_request("grafana"))

    again = tfhook("send", "--replay", "1", "--state-dir", str(state), "--addr", served.target,
                   cwd=tmp_path)

    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == ('DONE  {"source":"grafana","resource_name":"web","scaling_job_id":'
                            '"job-s","result":2,"current":{"Resource":{"ServerGroupInstance":'
                            '{"name":"web-01"}}}}\n')
    assert [r["request"] is not None for r in history_json(state)] == [True, True]


def test_replay_needs_a_stored_request(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO)
    tfhook("send", "post-handle", "--addr", served.target, cwd=tmp_path)
    out = tfhook("send", "--replay", "1", "--state-dir", str(state), "--addr", served.target,
                 cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == ("tfhook: error: --replay: call 1 was recorded without its request "
                          "(the server keeps requests with --history-requests)\n")
    assert history_json(state)[0]["request"] is None


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


def test_terraform_mode_streams_runs_and_is_recorded(demo: Path, tf_serve, tmp_path: Path,
                                                     state: Path) -> None:
    from support.terraform import ELB_ID, simulate

    served = tf_serve(demo, "--state-dir", str(state))
    simulate(demo, 400)
    (tmp_path / "elb.json").write_text(json.dumps(
        {"resource_name": "elb", "scaling_job_id": "job-tf", "result": 2,
         "current": {"Resource": {"Elb": {"id": ELB_ID, "plan": 400}}}}))

    ran = tfhook("send", "post-handle", "--addr", served.target, "--from-json", "elb.json",
                 cwd=tmp_path)
    ignored = tfhook("send", "handle", "--addr", served.target, "--job-id", "job-tf",
                     cwd=tmp_path)

    statuses = [line.split()[0] for line in ran.stdout.splitlines() if not line.startswith(" ")]
    assert ran.returncode == 0 and statuses[-1] == "DONE" and set(statuses[:-1]) == {"RUNNING"}
    assert "elb_plan: 100 → 400" in ran.stdout
    assert ignored.returncode == 0
    assert ignored.stdout == ("IGNORED  Handle: no route matches "
                              "(terraform: phase handle is not post-handle)\n")
    rows = history_json(state, "--job", "job-tf")
    assert [(r["phase"], r["resource_type"], r["routes"], r["decision"], r["outcome"])
            for r in rows] == [("handle", "", [], "ignored", "ignored"),
                               ("post-handle", "elb", ["terraform"], "ran", "done")]
    assert "elb_plan: 100 → 400" in rows[1]["output"]


def test_send_prints_each_message_as_it_arrives_and_coalescing_is_recorded(
        demo: Path, tf_serve, cloud, tmp_path: Path, state: Path) -> None:
    import queue
    import threading

    from support.terraform import simulate

    (demo / "slow.tf").write_text(cloud.tf())  # holds the run open until cloud.open()
    served = tf_serve(demo, "--state-dir", str(state))
    simulate(demo, 400)
    command = ("send", "post-handle", "--addr", served.target, "--resource-type", "elb")
    first = subprocess.Popen(tfhook_command(*command, "--job-id", "first"), cwd=tmp_path,
                             stdout=subprocess.PIPE, text=True)
    cloud.requests.get(timeout=HANG_GUARD)  # the first run is reading the cloud
    second = subprocess.Popen(tfhook_command(*command, "--job-id", "second"), cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert second.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in second.stdout])
    reader.start()
    try:
        # Printed while the run it waits for is still held: nothing is buffered until the end.
        assert lines.get(timeout=HANG_GUARD).startswith("ACCEPTED  queued behind the current run")
        assert first.poll() is None and second.poll() is None
    finally:
        cloud.open()
        out, _ = first.communicate(timeout=HANG_GUARD)
        second.wait(HANG_GUARD)
        reader.join(HANG_GUARD)
        second.stdout.close()
    assert first.returncode == 0 and second.returncode == 0
    rest = [lines.get_nowait() for _ in range(lines.qsize())]
    assert [line.split()[0] for line in rest if not line.startswith(" ")][-1] == "DONE"
    assert [line.split()[0] for line in out.splitlines() if not line.startswith(" ")][-1] == "DONE"
    rows = history_json(state)
    assert [(r["scaling_job_id"], r["decision"], r["outcome"]) for r in rows] == [
        ("second", "coalesced", "done"), ("first", "ran", "done")]


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
