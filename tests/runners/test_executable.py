"""Generic mode through a live server: what the executable gets and what the Core gets back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import grpc
import pytest
from support.servers import HANDLER_TYPE, RECORDER, run_tfhook, vector_request, write_script

from tfhook.observe import redact
from tfhook.runners.executable import ARGV_LIMIT
from tfhook.server.wire import go_json
from tfhook.v1 import handler_pb2 as pb

DONE = pb.HandleResponse.DONE


def recorder(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_script(directory / "record", RECORDER)


def recorded(directory: Path) -> tuple[str, bytes, bytes]:
    """(argc, argv[1], stdin) as the recorder hook saw them."""
    return ((directory / "argc").read_text().strip(), (directory / "argv1").read_bytes(),
            (directory / "stdin").read_bytes())


def rpc_error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_golden_vectors_reach_the_executable_byte_for_byte(tmp_path, serve, vectors) -> None:
    servers = {}
    for rpc, handler_type in HANDLER_TYPE.items():
        hook = recorder(tmp_path / handler_type)
        # argv[1] as the reference has it: `full` (the default keeps secrets out of argv).
        servers[rpc] = (serve("--executable-path", str(hook), "--handler-type", handler_type,
                              "--payload-argv", "full"), hook.parent)
    via_argv = via_stdin_only = 0
    for vector in vectors:
        server, where = servers[vector["rpc"]]
        request = vector_request(vector)
        responses = server.call(vector["rpc"], request)
        assert responses == [pb.HandleResponse(scaling_job_id=request.scaling_job_id,
                                               status=DONE, log="recorded\n")], vector["name"]
        argc, argv1, stdin = recorded(where)
        expected = vector["go_json"].encode("utf-8")
        assert argc == "1", vector["name"]
        assert stdin == expected, vector["name"]
        if vector["argv_ok"]:
            assert argv1 == expected, vector["name"]
            via_argv += 1
        else:
            assert argv1 == b"-", vector["name"]
            via_stdin_only += 1
    assert via_argv >= 10
    assert via_stdin_only >= 2


def test_by_default_argv_has_the_request_without_its_secrets(tmp_path, serve, vectors) -> None:
    hooks = {rpc: recorder(tmp_path / kind) for rpc, kind in HANDLER_TYPE.items()}
    servers = {rpc: serve("--executable-path", str(hook), "--handler-type", HANDLER_TYPE[rpc])
               for rpc, hook in hooks.items()}
    exact = redacted = 0
    for vector in (v for v in vectors if v["argv_ok"]):
        request = vector_request(vector)
        assert [r.status for r in servers[vector["rpc"]].call(vector["rpc"], request)] == [DONE]
        argc, argv1, stdin = recorded(hooks[vector["rpc"]].parent)
        expected = vector["go_json"].encode("utf-8")
        assert (argc, stdin) == ("1", expected), vector["name"]
        secrets = redact.secret_values(json.loads(expected))
        if argv1 == expected:  # nothing secret in it: the request byte for byte
            assert not secrets and '"edit_parameter"' not in vector["go_json"], vector["name"]
            exact += 1
        else:
            assert json.loads(argv1) == redact.redact(json.loads(expected)), vector["name"]
            assert not any(secret.encode() in argv1 for secret in secrets), vector["name"]
            redacted += 1
    assert exact >= 10 and redacted >= 1, (exact, redacted)


def test_the_error_message_has_no_secret(tmp_path, serve) -> None:
    # The hook echoes its request to stderr and fails: the Core logs the gRPC message.
    hook = write_script(tmp_path / "hook", "cat >&2\necho 'password: hunter2-pw' >&2\nexit 1\n")
    server = serve("--executable-path", str(hook))
    request = pb.PostHandleRequest(result=1)
    request.current.server_group_instance.edit_parameter.password = "hunter2-pw"
    request.current.server_group_instance.edit_parameter.ssh_keys.append("ssh-ed25519 AAAAkey")
    error = rpc_error(lambda: server.call("PostHandle", request))
    assert error.code() is grpc.StatusCode.UNKNOWN
    details = error.details()
    assert "returned non zero status: exit status 1" in details
    assert "hunter2" not in details and "AAAAkey" not in details, details
    assert details.count(redact.MARKER) == 3, details


@pytest.mark.parametrize("name", ["argv_limit_131072", "large_gslb_5000_servers"])
def test_too_large_for_argv_goes_on_stdin(tmp_path, serve, vectors, name) -> None:
    vector = next(v for v in vectors if v["name"] == name)
    assert not vector["argv_ok"]
    hook = recorder(tmp_path / "hook")
    server = serve("--executable-path", str(hook), "--handler-type", HANDLER_TYPE[vector["rpc"]])
    responses = server.call(vector["rpc"], vector_request(vector))
    assert [r.status for r in responses] == [DONE]
    argc, argv1, stdin = recorded(hook.parent)
    assert (argc, argv1) == ("1", b"-")
    assert stdin == vector["go_json"].encode()
    assert len(stdin) == vector["json_bytes"] > ARGV_LIMIT


@pytest.mark.parametrize(("size", "in_argv"), [(ARGV_LIMIT, True), (ARGV_LIMIT + 1, False)])
def test_argv_limit_boundary(tmp_path, serve, size: int, in_argv: bool) -> None:
    source = "x" * (size - len('{"source":""}'))
    request = pb.PostHandleRequest(source=source)
    assert len(go_json(request)) == size
    hook = recorder(tmp_path / "hook")
    server = serve("--executable-path", str(hook), "--payload-argv", "full")
    assert [r.status for r in server.call("PostHandle", request)] == [DONE]
    _, argv1, stdin = recorded(hook.parent)
    assert stdin == go_json(request)
    assert argv1 == (go_json(request) if in_argv else b"-")


def test_no_shell_is_involved(tmp_path, serve) -> None:
    hook = recorder(tmp_path / "hook")
    server = serve("--executable-path", str(hook), cwd=tmp_path / "hook")
    nasty = "$(touch pwned1); `touch pwned2`; touch pwned3 && echo ' \" * ~ | > pwned4"
    request = pb.PostHandleRequest(source=nasty, result=1)
    assert [r.status for r in server.call("PostHandle", request)] == [DONE]
    argc, argv1, _ = recorded(hook.parent)
    assert (argc, argv1) == ("1", go_json(request))
    assert not list(tmp_path.rglob("pwned*"))


def test_exit_zero_gives_one_done_with_stdout(tmp_path, serve) -> None:
    hook = write_script(tmp_path / "hook", 'printf "line 1\\nサーバ ✓\\n\\nno newline"\n'
                                           "echo to stderr >&2\n")
    server = serve("--executable-path", str(hook))
    responses = server.call("PostHandle", pb.PostHandleRequest(scaling_job_id="job-7", result=2))
    assert responses == [pb.HandleResponse(scaling_job_id="job-7", status=DONE,
                                           log="line 1\nサーバ ✓\n\nno newline")]


def test_empty_stdout_still_gives_one_done(tmp_path, serve) -> None:
    server = serve("--executable-path", str(write_script(tmp_path / "hook", "exit 0\n")))
    assert server.call("PostHandle", pb.PostHandleRequest()) == [pb.HandleResponse(status=DONE)]


def test_nonzero_exit_is_unknown_with_command_status_and_stderr_tail(tmp_path, serve) -> None:
    hook = write_script(tmp_path / "hook", "echo the stdout\n"
                                           "for i in $(seq 0 29); do echo \"err line $i\" >&2; done\n"
                                           "exit 3\n")
    server = serve("--executable-path", str(hook))
    error = rpc_error(lambda: server.call("PostHandle", pb.PostHandleRequest(result=1)))
    assert error.code() is grpc.StatusCode.UNKNOWN
    details = error.details()
    assert details.startswith(f'command "{hook}" returned non zero status: exit status 3')
    assert "err line 29" in details
    assert "err line 25" in details
    assert "err line 0\n" not in details
    assert "the stdout" not in details
    # Still serving: the next call works (and fails the same way).
    assert rpc_error(lambda: server.call("PostHandle", pb.PostHandleRequest())).code() is (
        grpc.StatusCode.UNKNOWN)


@pytest.mark.parametrize("char", ["E", "é"])
def test_huge_stderr_line_still_gives_unknown(tmp_path, serve, char: str) -> None:
    # A status message travels as a header: one long stderr line must not overflow the
    # client's metadata limit (which turns the answer into RESOURCE_EXHAUSTED).
    (tmp_path / "line").write_text(char * 50000, encoding="utf-8")
    hook = write_script(tmp_path / "hook", f'cat "{tmp_path / "line"}" >&2\n'
                                           "echo ' last words' >&2\nexit 4\n")
    server = serve("--executable-path", str(hook))
    error = rpc_error(lambda: server.call("PostHandle", pb.PostHandleRequest()))
    assert error.code() is grpc.StatusCode.UNKNOWN
    assert "exit status 4" in error.details()
    assert error.details().endswith(char * 20 + " last words")
    assert len(error.details().encode()) < 4096


@pytest.mark.parametrize(("signal_arg", "wording"), [("TERM", "signal: terminated"),
                                                     ("35", "signal: ")])
def test_killed_by_a_signal(tmp_path, serve, signal_arg: str, wording: str) -> None:
    hook = write_script(tmp_path / "hook", f"kill -{signal_arg} $$\nsleep 5\n")
    server = serve("--executable-path", str(hook))
    error = rpc_error(lambda: server.call("PostHandle", pb.PostHandleRequest()))
    assert error.code() is grpc.StatusCode.UNKNOWN
    assert error.details().startswith(f'command "{hook}" returned non zero status: {wording}')


def test_executable_that_cannot_start_is_unknown(tmp_path, serve) -> None:
    hook = write_script(tmp_path / "hook", "exit 0\n")
    server = serve("--executable-path", str(hook))
    # Broken after start (the start-up check refuses a missing interpreter).
    write_script(hook, "exit 0\n", shebang="#!/nonexistent/interpreter")
    error = rpc_error(lambda: server.call("PostHandle", pb.PostHandleRequest()))
    assert error.code() is grpc.StatusCode.UNKNOWN
    assert str(hook) in error.details()
    assert "its #! interpreter was not found" in error.details()
    # The server survives it.
    assert error.code() is rpc_error(
        lambda: server.call("PostHandle", pb.PostHandleRequest())).code()


@pytest.mark.parametrize(("handler_type", "others"), [
    ("post-handle", ["PreHandle", "Handle"]),
    ("handle", ["PreHandle", "PostHandle"]),
    ("pre-handle", ["Handle", "PostHandle"]),
])
def test_other_phases_get_an_empty_stream(tmp_path, serve, handler_type, others) -> None:
    hook = write_script(tmp_path / "hook", 'touch "$(dirname "$0")/ran"\necho ran\n')
    server = serve("--executable-path", str(hook), "--handler-type", handler_type)
    for rpc in others:
        request = (pb.PostHandleRequest if rpc == "PostHandle" else pb.HandleRequest)(
            scaling_job_id="j")
        assert server.call(rpc, request) == []
    assert not (tmp_path / "ran").exists()
    mine = {v: k for k, v in HANDLER_TYPE.items()}[handler_type]
    request = (pb.PostHandleRequest if mine == "PostHandle" else pb.HandleRequest)()
    assert [r.log for r in server.call(mine, request)] == ["ran\n"]
    assert (tmp_path / "ran").exists()


def test_non_utf8_stdout_is_made_valid(tmp_path, serve) -> None:
    hook = write_script(tmp_path / "hook", "printf 'ok \\377\\376 end \\343\\201\\n'\n")
    server = serve("--executable-path", str(hook))
    [response] = server.call("PostHandle", pb.PostHandleRequest())
    assert response.status == DONE
    assert response.log == "ok \ufffd\ufffd end \ufffd\n"


def test_huge_stdout_is_truncated_below_the_message_limit(tmp_path, serve) -> None:
    # 5 MiB of output, every byte invalid UTF-8: the answer must still fit in 4 MiB.
    hook = write_script(tmp_path / "hook", "head -c 5242880 /dev/zero | tr '\\0' '\\377'\n")
    server = serve("--executable-path", str(hook))
    [response] = server.call("PostHandle", pb.PostHandleRequest())
    assert response.status == DONE
    assert response.ByteSize() < 4 * 1024 * 1024
    assert response.log.startswith("\ufffd" * 1000)
    assert "output truncated" in response.log


def test_large_input_not_read_by_the_hook(tmp_path, serve, vectors) -> None:
    vector = next(v for v in vectors if v["name"] == "large_gslb_5000_servers")
    hook = write_script(tmp_path / "hook", "echo ignored my input\n")
    server = serve("--executable-path", str(hook), "--handler-type", "handle")
    assert [r.log for r in server.call("Handle", vector_request(vector))] == ["ignored my input\n"]


def test_relative_executable_path_uses_cwd_never_path(tmp_path, serve, monkeypatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_script(bin_dir / "hook", "echo from PATH\n")
    write_script(bin_dir / "onlyonpath", "echo from PATH\n")
    work = tmp_path / "work"
    work.mkdir()
    write_script(work / "hook", 'echo "from cwd $(pwd)"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    server = serve("--executable-path", "hook", cwd=work)
    assert [r.log for r in server.call("PostHandle", pb.PostHandleRequest())] == [
        f"from cwd {work}\n"
    ]
    result = run_tfhook(["serve", "--executable-path", "onlyonpath", "--addr", "unix:x.sock"],
                        cwd=work)
    assert result.returncode == 2
    assert "onlyonpath" in result.stderr and "does not exist" in result.stderr
    assert not (work / "x.sock").exists()


def test_hook_inherits_the_server_environment(tmp_path, serve, monkeypatch) -> None:
    monkeypatch.setenv("TFHOOK_TEST_MARK", "inherited ✓")
    hook = write_script(tmp_path / "hook", 'printf "%s|%s" "$TFHOOK_TEST_MARK" "$HOME"\n')
    server = serve("--executable-path", str(hook))
    [response] = server.call("PostHandle", pb.PostHandleRequest())
    assert response.log == f"inherited ✓|{tmp_path / 'home'}"


def test_the_start_up_line_says_when_argv_has_whole_requests(tmp_path, serve) -> None:
    hook = recorder(tmp_path / "hook")
    default = serve("--executable-path", str(hook))
    full = serve("--executable-path", str(hook), "--payload-argv", "full")
    [default_line] = [line for line in default.log().splitlines() if "event=serving" in line]
    [full_line] = [line for line in full.log().splitlines() if "event=serving" in line]
    assert "payload_argv_full" not in default_line
    assert " payload_argv_full=executable" in full_line, full_line
