"""Supervision through a live server, as the Core would meet it: a hung hook, a client that goes
away, a background child holding stdout, and signals to the server during a call."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from support.processes import read_pids, wait_dead
from support.servers import HANG_GUARD, Served, alive, children, wait_for, write_script

from tfhook.v1 import handler_pb2 as pb

DONE = pb.HandleResponse.DONE


def test_hung_hook_times_out_with_deadline_exceeded(tmp_path, serve) -> None:
    pids = tmp_path / "pids"
    hook = write_script(tmp_path / "hook", f"sleep 60 & echo $! > {pids}; echo $$ >> {pids}\n"
                                           "trap '' TERM\nwait\n")
    server = serve("--executable-path", str(hook), "--timeout", "1s", "--kill-after", "1s")
    with pytest.raises(grpc.RpcError) as info:
        server.call("PostHandle", pb.PostHandleRequest(), timeout=HANG_GUARD)
    # The server's own timeout answered (the client's deadline is only a bound).
    assert info.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "timed out after 1s" in info.value.details()
    assert str(hook) in info.value.details()
    sleeper, shell = read_pids(pids, 2)
    wait_dead((sleeper, shell))
    # The server reaped its child: no zombies left behind, and it still serves.
    assert not [pid for pid in children(server.proc.pid) if not alive(pid)]
    assert shell not in children(server.proc.pid)
    write_script(hook, "echo fine\n")
    assert [r.log for r in server.call("PostHandle", pb.PostHandleRequest())] == ["fine\n"]


@pytest.mark.parametrize("how", ["cancel", "close-channel",
                                 pytest.param("client-deadline", marks=pytest.mark.slow)])
def test_client_going_away_stops_the_hook_group(tmp_path, serve, how: str) -> None:
    pids = tmp_path / "pids"
    hook = write_script(tmp_path / "hook",
                        f"sleep 60 & echo $! > {pids}; echo $$ >> {pids}; wait\n")
    server = serve("--executable-path", str(hook))
    channel = grpc.insecure_channel(server.target)
    try:
        stub_call = channel.unary_stream(
            "/autoscaler.HandleService/PostHandle",
            request_serializer=pb.PostHandleRequest.SerializeToString,
            response_deserializer=pb.HandleResponse.FromString,
        )
        # The client deadline must pass while the hook runs (it sleeps 60 s), however late a
        # busy machine starts it.
        call = stub_call(pb.PostHandleRequest(),
                         timeout=10 if how == "client-deadline" else HANG_GUARD)
        pid_list = read_pids(pids, 2)
        if how == "cancel":
            call.cancel()
        elif how == "close-channel":
            channel.close()
        else:
            with pytest.raises(grpc.RpcError) as info:
                list(call)
            assert info.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        channel.close()
    for pid in pid_list:
        wait_for(lambda pid=pid: not alive(pid), what=f"pid {pid} to die ({how})")
    wait_for(lambda: pid_list[1] not in children(server.proc.pid), what="the hook to be reaped")
    assert server.proc.poll() is None


def test_background_child_holding_stdout_does_not_hold_the_call(tmp_path, serve) -> None:
    # The sleeper holds stdout for 10 minutes; a call it held would hit the client's
    # deadline (a bound, not a speed check) and fail instead of answering DONE.
    hook = write_script(tmp_path / "hook", "sleep 600 &\necho hi\nexit 0\n")
    server = serve("--executable-path", str(hook), "--timeout", "30m")
    responses = server.call("PostHandle", pb.PostHandleRequest(), timeout=HANG_GUARD)
    assert [(r.status, r.log) for r in responses] == [(DONE, "hi\n")]


def hook_call_in_flight(tmp_path: Path, serve: Callable[..., Served], trap: str, *flags: str
                        ) -> tuple[Served, Any, list[int]]:
    """A server whose hook (`trap` first) starts a sleeper and waits for it; a PostHandle
    in flight to it, and the pids of the sleeper and the hook's shell."""
    pids = tmp_path / "pids"
    hook = write_script(tmp_path / "hook",
                        f"{trap}\nsleep 60 & echo $! > {pids}; echo $$ >> {pids}; wait\n")
    server = serve("--executable-path", str(hook), *flags)
    call = server.stub.PostHandle(pb.PostHandleRequest(), timeout=HANG_GUARD)
    return server, call, read_pids(pids, 2)


@pytest.mark.parametrize("trap", ["", "trap '' TERM"])
def test_sigterm_during_a_call_stops_the_hook_and_the_server(tmp_path, serve, trap) -> None:
    # After the grace period the call is cancelled and the group gets the stop signal, then
    # SIGKILL after --kill-after; the server must not exit before that ladder is done.
    server, call, pid_list = hook_call_in_flight(tmp_path, serve, trap,
                                                 "--grace", "500ms", "--kill-after", "1s")
    assert server.stop() == 0
    with pytest.raises(grpc.RpcError):
        list(call)
    wait_dead(pid_list)
    assert "Traceback" not in server.log()


def test_second_signal_forces_exit_and_still_kills_the_hook(tmp_path, serve) -> None:
    server, call, pid_list = hook_call_in_flight(tmp_path, serve, "trap '' TERM",
                                                 "--grace", "60s", "--kill-after", "60s")
    server.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "event=stopping" in server.log(), what="the server to start stopping")
    assert server.proc.poll() is None  # waiting for the call (grace 60s)
    assert server.stop() == 0  # the second signal; 60 s of grace and kill-after not waited for
    with pytest.raises(grpc.RpcError):
        list(call)
    wait_dead(pid_list)
    assert not (tmp_path / "s0.sock").exists()


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="process groups and /proc checks need Linux")
