"""Faults at the server: bad requests, hooks it must refuse, secrets in argv, more calls than
--max-concurrency, an exposed address, calls cut short at shutdown."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import threading

import grpc
from faultlab import (
    ACCEPTED,
    DONE,
    Case,
    Lab,
    all_dead,
    failed_call,
    good_call,
    last_line,
    read_pids,
    stop,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.servers import HANG_GUARD, free_port, run_tfhook, wait_for

from tfhook.v1 import handler_pb2 as pb

PASSWORD = "hunter2-Pa55word"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIsecretkey ops@example"
# Records argv[1], the command line as `ps` shows it while the hook runs, stdin and env.
RECORDER = """\
d="$(dirname "$0")"
printf '%s' "$1" > "$d/argv1"
tr '\\0' ' ' < /proc/$$/cmdline > "$d/ps"
cat > "$d/stdin"
env | grep '^TFHOOK_' | sort > "$d/env"
echo recorded
"""


def secret_request() -> pb.PostHandleRequest:
    request = pb.PostHandleRequest(source="default", resource_name="web", scaling_job_id="job-7",
                                   result=1)
    instance = request.current.server_group_instance
    instance.id = "113"
    instance.edit_parameter.password = PASSWORD
    instance.edit_parameter.ssh_keys.append(SSH_KEY)
    instance.cloud_config = "#cloud-config\npassword: " + PASSWORD
    return request


def bad_bytes(lab: Lab) -> str:
    served = lab.serve("echo never\n")
    raw = served.channel.unary_stream("/autoscaler.HandleService/PostHandle")
    for garbage in (b"\xff\xff\xff\xff", b"\x0a\x80", b"\x22\x05abc"):
        try:
            list(raw(garbage, timeout=HANG_GUARD))
            raise AssertionError("garbage was accepted")
        except grpc.RpcError as error:
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert error.details() == "request is not a valid PostHandleRequest message"
    wait_for(lambda: served.log().count('event="bad request"') == 3, what="3 log lines")
    assert "Traceback" not in served.log() and "Error parsing" not in served.log()
    return f"INVALID_ARGUMENT, one log line each; {good_call(served)}"


def oversize_request(lab: Lab) -> str:
    served = lab.serve("echo never\n")
    huge = pb.PostHandleRequest(source="x" * (5 * 1024 * 1024))
    error = failed_call(served, huge)
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == (f"request of {huge.ByteSize()} bytes is larger than the "
                               "4194304 bytes accepted")
    wait_for(lambda: "code=RESOURCE_EXHAUSTED" in served.log(), what="the log line")
    return f"RESOURCE_EXHAUSTED and a log line; {good_call(served)}"


def not_runnable(lab: Lab) -> str:
    text = lab.root / "notes.txt"
    text.write_text("echo this has no #! line\n")
    text.chmod(0o755)
    result = run_tfhook(["serve", "--executable-path", str(text)], lab.root)
    assert result.returncode == 2, result
    assert result.stderr == (f"tfhook: error: --executable-path: {text}: is neither a script "
                             "starting with #! nor a binary this machine can run\n")
    binary = lab.root / "true-binary"
    shutil.copy(shutil.which("true") or "/bin/true", binary)
    served = lab.serve_path(binary)
    answers = served.call("PostHandle", pb.PostHandleRequest(resource_name="x"))
    assert [(a.status, a.log) for a in answers] == [(DONE, "")]
    return "refused at start (exit 2); an ELF binary without #! is served"


def _argv_case(lab: Lab, mode: str) -> tuple[str, str, str]:
    hook = lab.hook(RECORDER, prefix="")
    served = lab.serve_path(hook, *(("--payload-argv", mode) if mode else ()))
    request = secret_request()
    answers = served.call("PostHandle", request)
    assert [(a.status, a.log.strip()) for a in answers] == [(DONE, "recorded")]
    stdin = (lab.root / "stdin").read_text()
    assert PASSWORD in stdin and SSH_KEY in stdin  # stdin always has the whole request
    return (lab.root / "argv1").read_text(), (lab.root / "ps").read_text(), \
        (lab.root / "env").read_text()


def payload_argv(lab: Lab) -> str:
    full, full_ps, _ = _argv_case(lab, "full")
    assert PASSWORD in full and PASSWORD in full_ps  # the reference's argv, on request
    redacted, redacted_ps, _ = _argv_case(lab, "")  # the default
    assert PASSWORD not in redacted_ps and "secretkey" not in redacted_ps
    sgi = json.loads(redacted)["current"]["Resource"]["ServerGroupInstance"]
    assert sgi["edit_parameter"] == "[redacted]" and sgi["cloud_config"] == "[redacted]"
    assert sgi["id"] == "113"
    none, none_ps, env = _argv_case(lab, "none")
    assert none == "-" and PASSWORD not in none_ps
    assert env.splitlines() == [
        "TFHOOK_JOB_ID=job-7", "TFHOOK_PHASE=post-handle", "TFHOOK_RESOURCE_NAME=web",
        "TFHOOK_RESOURCE_TYPE=server_group_instance", "TFHOOK_RESULT=CREATED",
        "TFHOOK_ROUTE=executable"]
    return "full: in ps; redacted (default)/none: no secret in ps; stdin whole; TFHOOK_* set"


def max_concurrency(lab: Lab) -> str:
    pids = lab.root / "first.pids"
    release = lab.root / "release"
    served = lab.serve(f"echo $$ >> {pids}; while [ ! -e {release} ]; do sleep 0.05; done; "
                       "echo ran\n", "--max-concurrency", "1")
    first = served.stub.PostHandle(pb.PostHandleRequest(resource_name="a"), timeout=60)
    read_pids(pids, 1)  # the first hook holds the only slot
    answers: list[pb.HandleResponse] = []
    stream = served.stub.PostHandle(pb.PostHandleRequest(resource_name="b"), timeout=60)

    def read() -> None:
        for answer in stream:  # one at a time: the ACCEPTED comes long before the DONE
            answers.append(answer)

    second = threading.Thread(target=read)
    second.start()
    wait_for(lambda: answers, what="the second call's ACCEPTED")
    assert answers[0].status == ACCEPTED
    assert answers[0].log == ("waiting: 1 hooks are running, the most at once "
                              "(--max-concurrency 1)")
    assert len(read_pids(pids, 1)) == 1  # the second hook has not started
    release.touch()
    second.join(60)
    assert [a.status for a in list(first)] == [DONE]
    assert [(a.status, a.log.strip()) for a in answers] == [(ACCEPTED, answers[0].log),
                                                              (DONE, "ran")]
    # Waiting for a slot is not sharing a run: both calls ran their own hook.
    wait_for(lambda: served.log().count('event="call finished"') == 2, what="both calls logged")
    assert served.log().count("decision=ran") == 2 and "coalesced" not in served.log()
    return f"second call ACCEPTED (waiting), then DONE; {good_call(served)}"


def exposed_address(lab: Lab) -> str:
    port = free_port()
    served = lab.serve("echo never\n", addr=f"0.0.0.0:{port}")
    assert "nothing authenticates callers" in served.log()
    good_call(served)
    loopback = lab.serve("echo never\n", addr=f"127.0.0.1:{free_port()}")
    assert "nothing authenticates" not in loopback.log()
    return "0.0.0.0 warned at start, 127.0.0.1 not; calls served"


def cut_short_at_shutdown(lab: Lab) -> str:
    pids = lab.root / "cut.pids"
    served = lab.serve(f"echo $$ >> {pids}; sleep 300 & wait\n", "--grace", "1s",
                       "--kill-after", "1s")
    calls = [served.stub.PostHandle(pb.PostHandleRequest(resource_name=f"c{i}"), timeout=60)
             for i in range(2)]
    hooks = read_pids(pids, 2)
    assert stop(served) == 0
    for call in calls:
        try:
            list(call)
            raise AssertionError("a cut call succeeded")
        except grpc.RpcError as error:
            assert error.code() is grpc.StatusCode.UNAVAILABLE
            assert error.details().startswith("tfhook is stopping: the call was cut short "
                                              "after running ")
            assert error.details().endswith("s (the --grace period ended)")
    assert last_line(served).endswith("event=stopped calls_cut_short=2"), last_line(served)
    # The log says why each call ended, as the caller was told (not an exception's name).
    assert served.log().count("cut short: the server is stopping") == 2, served.log()
    assert "CancelledError" not in served.log()
    all_dead(hooks)
    return "UNAVAILABLE 'cut short after Ns'; last log line calls_cut_short=2"


def shutdown_order(lab: Lab) -> str:
    """What held before: health turns NOT_SERVING first, a second signal stops at once, and
    the socket is removed only if it is still the server's."""
    pids = lab.root / "order.pids"
    sock = lab.root / "order.sock"
    served = lab.serve(f"echo $$ >> {pids}; sleep 300 & wait\n", "--grace", "60s",
                       "--kill-after", "60s", addr=f"unix:{sock}")
    watch = health_pb2_grpc.HealthStub(served.channel).Watch(health_pb2.HealthCheckRequest(),
                                                             timeout=60)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    call = served.stub.PostHandle(pb.PostHandleRequest(resource_name="slow"), timeout=60)
    hook = read_pids(pids, 1)
    sock.rename(lab.root / "moved.sock")  # someone else's socket now takes the path
    stranger = socket.socket(socket.AF_UNIX)
    stranger.bind(str(sock))
    served.proc.send_signal(signal.SIGTERM)
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert served.proc.poll() is None  # the call has 60 s of grace
    assert stop(served) == 0  # the second signal: no grace, no kill_after waited for
    try:
        list(call)
        raise AssertionError("the call succeeded")
    except grpc.RpcError as error:
        assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    all_dead(hook)
    assert sock.exists()  # not the server's: left alone
    stranger.close()
    return "NOT_SERVING first; second signal exits at once; a socket not ours is kept"


CASES = [Case(check.__name__.replace("_", " "), check) for check in (
    bad_bytes, oversize_request, not_runnable, payload_argv, max_concurrency, exposed_address,
    cut_short_at_shutdown, shutdown_order,
)]
