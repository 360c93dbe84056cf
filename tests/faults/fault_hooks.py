"""Hooks that misbehave: each against a live server, then a good call on the same server."""

from __future__ import annotations

import grpc
from faultlab import DONE, Case, Lab, all_dead, failed_call, good_call, read_pids

from tfhook.v1 import handler_pb2 as pb

MIB = 1024 * 1024


def non_zero_exit(lab: Lab) -> str:
    served = lab.serve("echo 'disk full' >&2; exit 3\n")
    error = failed_call(served)
    assert error.code() is grpc.StatusCode.UNKNOWN
    assert "returned non zero status: exit status 3" in error.details()
    assert error.details().endswith("stderr:\ndisk full")
    return f"UNKNOWN 'exit status 3' with stderr; {good_call(served)}"


def killed_by_signal(lab: Lab) -> str:
    served = lab.serve("kill -KILL $$\n")
    error = failed_call(served)
    assert error.code() is grpc.StatusCode.UNKNOWN
    assert error.details().endswith("returned non zero status: signal: killed")
    return f"UNKNOWN 'signal: killed'; {good_call(served)}"


def stdout_50_mib(lab: Lab) -> str:
    served = lab.serve("cat >/dev/null; head -c 52428800 /dev/zero | tr '\\0' o\n")
    answers = served.call("PostHandle", pb.PostHandleRequest(resource_name="f"), timeout=120)
    assert [a.status for a in answers] == [DONE]
    log = answers[0].log
    kept = 3 * MIB
    assert log.startswith("o" * kept)
    assert log[kept:] == f"\n[tfhook: output truncated, {50 * MIB - kept} more bytes dropped]"
    return f"DONE, log cut to 3 MiB and says so; {good_call(served)}"


def request_never_read(lab: Lab) -> str:
    # Go's JSON writes "<" as \u003c: a 0.9 MB name makes a 5.4 MB request for the hook,
    # under gRPC's 4 MiB message limit. argv[1] is then "-"; the hook reads nothing.
    served = lab.serve('printf "argv1=%s" "$1"\n')
    request = pb.PostHandleRequest(resource_name="<" * 900_000, result=2)
    answers = served.call("PostHandle", request, timeout=60)
    assert [(a.status, a.log) for a in answers] == [(DONE, "argv1=-")]
    return f"5 MiB request unread: DONE; {good_call(served)}"


def stdin_closed_early(lab: Lab) -> str:
    served = lab.serve("head -c 10 >/dev/null; exec 0<&-; echo read ten bytes\n")
    request = pb.PostHandleRequest(source="s" * (2 * MIB), result=2)
    answers = served.call("PostHandle", request, timeout=60)
    assert [(a.status, a.log.strip()) for a in answers] == [(DONE, "read ten bytes")]
    return f"DONE; {good_call(served)}"


def daemon_holding_stdout(lab: Lab) -> str:
    pids = lab.root / "daemon.pids"
    served = lab.serve(f"sleep 300 & echo $! > {pids}; echo started\n")
    answers = served.call("PostHandle", pb.PostHandleRequest(resource_name="f"), timeout=60)
    assert [(a.status, a.log.strip()) for a in answers] == [(DONE, "started")]
    gone = all_dead(read_pids(pids, 1))
    return f"DONE after the hook exits, daemon stopped ({gone}); {good_call(served)}"


def deleted_script(lab: Lab) -> str:
    hook = lab.hook("echo never\n")
    served = lab.serve_path(hook)
    saved = hook.read_bytes()
    hook.unlink()
    error = failed_call(served)
    assert error.code() is grpc.StatusCode.UNKNOWN
    assert error.details() == f'command "{hook}" could not start: ' \
        f"[Errno 2] No such file or directory: '{hook}'"
    hook.write_bytes(saved)
    hook.chmod(0o755)
    return f"UNKNOWN 'could not start'; put back: {good_call(served)}"


def _timed_out(lab: Lab, trap: str, kill_after: str) -> str:
    """A hook (and a child of its) that runs past --timeout 1s: both must be gone after."""
    pids = lab.root / "hang.pids"
    hook = lab.hook(f"{trap}sleep 300 & echo $! > {pids}; echo $$ >> {pids}; wait\n")
    served = lab.serve_path(hook, "--timeout", "1s", "--kill-after", kill_after)
    error = failed_call(served)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert error.details() == (f'command "{hook}" timed out after 1s: sent '
                               f"SIGTERM to its process group (SIGKILL after {kill_after})")
    return f"{all_dead(read_pids(pids, 2))}; {good_call(served)}"


def hang_past_timeout(lab: Lab) -> str:
    return f"DEADLINE_EXCEEDED, group stopped: {_timed_out(lab, '', '5s')}"


def ignores_sigterm(lab: Lab) -> str:
    held = _timed_out(lab, "trap '' TERM; ", "1s")
    return f"DEADLINE_EXCEEDED, SIGKILL after --kill-after: {held}"


def stderr_10_mib(lab: Lab) -> str:
    served = lab.serve("head -c 10485760 /dev/zero | tr '\\0' e >&2; echo fine\n")
    answers = served.call("PostHandle", pb.PostHandleRequest(resource_name="f"), timeout=120)
    assert [(a.status, a.log.strip()) for a in answers] == [(DONE, "fine")]
    failing = lab.serve("head -c 10485760 /dev/zero | tr '\\0' e >&2; exit 1\n")
    error = failed_call(failing)
    assert error.code() is grpc.StatusCode.UNKNOWN
    assert len(error.details().encode()) < 4096  # the tail only: it travels as a header
    return f"DONE (exit 0) / UNKNOWN with a short tail (exit 1); {good_call(failing)}"


CASES = [Case(check.__name__.replace("_", " "), check) for check in (
    non_zero_exit, killed_by_signal, stdout_50_mib, request_never_read, stdin_closed_early,
    daemon_holding_stdout, deleted_script, hang_past_timeout, ignores_sigterm, stderr_10_mib,
)]
