"""Supervision: timeouts, process-group kills, cancellation, output draining.

These drive process.Child directly with real children; test_process_server.py goes through a
live server, as the Core would.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from support.processes import read_pids, wait_dead
from support.servers import HANG_GUARD, alive, kill_if_alive, wait_for, write_script

from tfhook.core.hooks import Limits
from tfhook.errors import ActionFailed, ActionTimeout
from tfhook.process import spawn as process
from tfhook.v1 import handler_pb2 as pb

DONE = pb.HandleResponse.DONE


def run(coro):
    return asyncio.run(coro)


async def collect(spec: process.Spec, jump: Callable[[process.Child], bool] | None = None,
                  ) -> tuple[bytes, process.Exit]:
    """Run a child to its end. With `jump`: the loop's clock jumps a minute once
    `jump(child)` holds, so a deadline passes when the test says, not when a busy machine
    happens to get there (a fake clock, as the jitter tests have)."""
    out = bytearray()
    async with process.Child(spec) as child:
        ticking = _clock_jumps_once(lambda: jump(child)) if jump else None
        try:
            async for chunk in child.chunks():
                out += chunk
            exit_ = await child.wait()
        finally:
            if ticking is not None:
                ticking.cancel()
    return bytes(out), exit_


def _clock_jumps_once(ready: Callable[[], bool], by: float = 61.0) -> asyncio.Task[None]:
    loop = asyncio.get_running_loop()
    real, skew = loop.time, [0.0]
    loop.time = lambda: real() + skew[0]  # type: ignore[method-assign]

    async def tick() -> None:
        while not ready():
            await asyncio.sleep(0.02)
        skew[0] = by

    return asyncio.ensure_future(tick())


def _exited(child: process.Child) -> bool:
    return child._pipes is not None and child._pipes.exited.done()


def sh(script: str, **kwargs) -> process.Spec:
    return process.Spec(argv=["/bin/sh", "-c", script], name="test-child", **kwargs)


# --- process.Child, directly -------------------------------------------------------------


def test_stdin_is_delivered_and_closed() -> None:
    out, exit_ = run(collect(sh("cat; echo; echo done", stdin=b'{"a":1}')))
    assert out == b'{"a":1}\ndone\n'
    assert exit_.returncode == 0


def test_large_output_streams_without_waiting_for_exit(tmp_path: Path) -> None:
    # Regression: the reader used to wait for the child's exit before each chunk, so a
    # child blocked on a full pipe hit the timeout. The child marks the end of its output:
    # the first chunk must arrive before that mark exists (5 MB cannot fit in a pipe).
    mark = tmp_path / "wrote-everything"

    async def main() -> tuple[int, bool, process.Exit]:
        size, first_before_mark = 0, None
        spec = sh(f"head -c 5000000 /dev/zero; touch {mark}", limits=Limits(timeout=60))
        async with process.Child(spec) as child:
            async for chunk in child.chunks():
                if first_before_mark is None:
                    first_before_mark = not mark.exists()
                size += len(chunk)
            return size, bool(first_before_mark), await child.wait()

    size, first_before_mark, exit_ = run(main())
    assert (size, exit_.returncode) == (5000000, 0)
    assert first_before_mark and mark.exists()


def test_lines_splits_output() -> None:
    async def main():
        async with process.Child(sh("printf 'a\\nb\\n\\nc'")) as child:
            lines = [line async for line in child.lines()]
            await child.wait()
        return lines

    assert run(main()) == [b"a", b"b", b"", b"c"]


def test_large_stdin_that_is_never_read() -> None:
    out, exit_ = run(collect(sh("echo skipped", stdin=b"x" * 1_000_000)))
    assert (out, exit_.returncode) == (b"skipped\n", 0)


def test_exit_status_and_stderr() -> None:
    _, exit_ = run(collect(sh("echo one >&2; echo two >&2; exit 7")))
    assert exit_.returncode == 7
    assert exit_.describe() == "exit status 7"
    assert exit_.stderr_tail() == "one\ntwo"
    assert exit_.stderr_tail(lines=1) == "two"


def test_stderr_tail_is_bounded() -> None:
    exit_ = process.Exit(1, b"x" * 100000 + "\nlast é".encode())
    tail = exit_.stderr_tail()
    assert tail.startswith("…x") and tail.endswith("x\nlast é")
    assert len(tail.encode()) == 2048 + len("…".encode())
    long_line = process.Exit(1, ("é" * 100000).encode())
    assert len(long_line.stderr_tail().encode()) <= 2048 + len("…".encode())
    assert long_line.stderr_tail().endswith("é" * 100)
    assert process.Exit(1, b"bad \xff byte\n").stderr_tail() == "bad \ufffd byte"


def test_stderr_is_scrubbed_before_it_is_cut() -> None:
    secret = "Qz7-Secret-Pass-4821"
    exit_ = process.Exit(3, f"PW={secret}".encode() + b"x" * 2040)
    assert exit_.stderr_tail(scrub=lambda text: text.replace(secret, "[redacted]")) == (
        "…edacted]" + "x" * 2040)
    assert exit_.stderr_tail().startswith("…ass-4821x")  # what scrubbing after the cut saw


def test_a_long_stderr_keeps_its_end_and_says_its_start_was_cut() -> None:
    _, small = run(collect(sh("echo one >&2; exit 1")))
    _, large = run(collect(sh("head -c 300000 /dev/zero | tr '\\0' y >&2; echo end >&2; exit 1")))
    assert (small.stderr, small.stderr_cut) == (b"one\n", False)
    assert large.stderr_cut and large.stderr.endswith(b"yyend\n")
    assert 64 * 1024 <= len(large.stderr) <= 128 * 1024


@pytest.mark.parametrize(("returncode", "text"), [
    (0, "exit status 0"), (3, "exit status 3"), (255, "exit status 255"),
    (-signal.SIGKILL, "signal: killed"), (-signal.SIGTERM, "signal: terminated"),
    (-signal.SIGINT, "signal: interrupt"), (-signal.SIGHUP, "signal: hangup"),
    (-signal.SIGSEGV, "signal: segmentation fault"), (-signal.SIGPIPE, "signal: broken pipe"),
    (-signal.SIGUSR1, "signal: user defined signal 1"), (-signal.SIGABRT, "signal: aborted"),
])
def test_exit_describe_uses_go_wording(returncode: int, text: str) -> None:
    assert process.Exit(returncode, b"").describe() == text


def test_cannot_start_is_action_failed(tmp_path: Path) -> None:
    spec = process.Spec(argv=[str(tmp_path / "missing")], name="missing-hook")
    with pytest.raises(ActionFailed, match='command "missing-hook" could not start'):
        run(collect(spec))


def test_a_hook_that_exits_in_time_is_not_a_timeout_because_of_the_drain(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # It exits within its timeout; its background child keeps stdout open. Once its exit is
    # seen the clock jumps past the deadline, so the drain window (4 s here) runs past it.
    # The hook still finished in time.
    monkeypatch.setattr(process, "DRAIN_AFTER_EXIT", 4.0)
    spec = process.Spec(argv=["sh", "-c", "sleep 90 & echo hi"], name="hook",
                        limits=Limits(timeout=60, kill_after=1))
    output, exit_ = run(collect(spec, jump=_exited))
    assert (output, exit_.returncode) == (b"hi\n", 0)


def test_a_background_child_holding_stdout_gets_its_stop_signal_first(tmp_path: Path) -> None:
    log = tmp_path / "bg.log"
    child = (f"trap 'echo got-TERM >> {log}; sleep 0.3; echo cleaned-up >> {log}; exit 0' TERM;"
             " while :; do sleep 0.05; done")
    spec = process.Spec(argv=["sh", "-c", f"sh -c \"{child}\" & echo hi"], name="hook",
                        limits=Limits(timeout=30, kill_after=5))
    output, exit_ = run(collect(spec))
    assert (output, exit_.returncode) == (b"hi\n", 0)
    wait_for(lambda: log.exists() and "cleaned-up" in log.read_text(),
             what="the background child to clean up after SIGTERM")
    assert log.read_text().split() == ["got-TERM", "cleaned-up"]


def test_a_missing_interpreter_is_named(tmp_path: Path) -> None:
    # The check at start catches this; here the interpreter went away after start.
    script = write_script(tmp_path / "hook", "echo hi\n", shebang="#!/nowhere/interp")
    spec = process.Spec(argv=[str(script)], name=str(script))
    with pytest.raises(ActionFailed, match="its #! interpreter was not found"):
        run(collect(spec))


def test_timeout_escalates_to_sigkill_and_kills_the_group(tmp_path: Path) -> None:
    pids, log = tmp_path / "pids", tmp_path / "signals"
    # The shell notes SIGTERM and carries on; its sleeper ignores it: only SIGKILL ends them.
    script = (f"trap 'echo TERM >> {log}' TERM; (trap '' TERM; exec sleep 60) & "
              f"echo $! > {pids}; echo $$ >> {pids}; while :; do wait; done")
    # The deadline passes (the clock jumps) once the pids are written: the trap is set by then.
    with pytest.raises(ActionTimeout, match=r"timed out after 1m.*SIGTERM.*SIGKILL after 300ms"):
        run(collect(sh(script, limits=Limits(timeout=60, kill_after=0.3)), jump=lambda _: pids.exists()))
    wait_dead(read_pids(pids, 2))
    assert log.read_text() == "TERM\n"  # the stop signal came first, once; then SIGKILL


def test_a_child_killed_outright_is_logged_with_what_it_may_leave(tmp_path: Path) -> None:
    # A child that ignores its stop signal is killed; the warning says so and adds the
    # spec's note (for Terraform: its state lock may be left held).
    pids = tmp_path / "pids"
    spec = sh(f"trap '' TERM; echo $$ > {pids}; while :; do sleep 0.05; done",
              limits=Limits(timeout=60, kill_after=0.2), if_killed="a lock may be left")
    with capture_logs() as logs, pytest.raises(ActionTimeout):  # the trap is set: time is up
        run(collect(spec, jump=lambda _: pids.exists()))
    wait_dead(read_pids(pids, 1))
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert (warning["child"], warning["signal"], warning["note"]) == (
        "test-child", "SIGTERM", "a lock may be left")
    assert warning["event"] == "did not stop after its stop signal; killing it (SIGKILL)"


def test_a_child_that_stops_in_time_is_not_reported_killed() -> None:
    with capture_logs() as logs, pytest.raises(ActionTimeout):
        # The timeout is what is under test; kill_after is a hang guard: it stops on SIGTERM.
        run(collect(sh("sleep 30", limits=Limits(timeout=0.3, kill_after=HANG_GUARD))))
    assert [e for e in logs if e["log_level"] == "warning"] == []


def test_cancellation_stops_the_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"

    async def main():
        task = asyncio.ensure_future(collect(sh(f"sleep 60 & echo $! > {pids}; echo $$ >> {pids}; wait")))
        while not (pids.exists() and len(pids.read_text().split()) == 2):
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    wait_dead(read_pids(pids, 2))


def test_background_child_holding_stdout_is_stopped_after_the_drain_window(tmp_path) -> None:
    pid_file = tmp_path / "bg"
    # The sleeper would hold stdout for 10 minutes: the bound below only stops a hang.
    out, exit_ = run(asyncio.wait_for(collect(sh(f"sleep 600 & echo $! > {pid_file}; echo hi")), HANG_GUARD))
    assert (out, exit_.returncode) == (b"hi\n", 0)
    [pid] = read_pids(pid_file, 1)
    wait_for(lambda: not alive(pid), what="the background sleeper to die")


def test_background_child_with_redirected_output_is_left_alone(tmp_path) -> None:
    # Daemonising hooks are allowed (the reference does not kill them either).
    pid_file = tmp_path / "bg"
    out, exit_ = run(collect(sh(f"sleep 30 >/dev/null 2>&1 & echo $! > {pid_file}; echo hi")))
    assert (out, exit_.returncode) == (b"hi\n", 0)
    [pid] = read_pids(pid_file, 1)
    try:
        assert alive(pid)
    finally:
        kill_if_alive(pid)


def test_human_durations() -> None:
    assert [process._human(s) for s in (0.25, 1, 1.5, 30, 90, 900, 3600, 5400, 7200)] == [
        "250ms", "1s", "1.5s", "30s", "90s", "15m", "1h", "90m", "2h"]


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="process groups and /proc checks need Linux")
