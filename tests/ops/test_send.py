"""`tfhook send` and `check` (ops/send.py, ops/parse.py) against a live server, a dead socket
and bad input; a stream printed as it arrives."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from support.operate import ECHO, PICKY, history_json, start, tfhook, vector
from support.servers import HANG_GUARD, tfhook_command


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
     "no-change, unknown (or a number from 0 to 2147483647)"),
    (["post-handle", "--result", "2147483648"], "--result: '2147483648' is not one of created, "
     "updated, deleted, no-change, unknown (or a number from 0 to 2147483647)"),
    (["handle", "--instruction", "-1"], "--instruction: '-1' is not one of create, update, delete, "
     "noop, unknown (or a number from 0 to 2147483647)"),
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
