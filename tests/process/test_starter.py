"""How children are started (posix_spawn where it can, Popen where it must): what a child
gets is what Popen would give it (but glibc's internal signals 32 and 33, see starter)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tfhook.process import rlimit, starter

# Run by /bin/sh: not by Python, which ignores SIGPIPE itself as it starts.
READ_STATE = """read -r input
grep SigIgn: /proc/self/status | cut -f2
ls /proc/self/fd | sort -n | tr '\\n' ' '; echo
test "$(cut -d' ' -f5 /proc/self/stat)" = $$ && echo leader || echo member
echo "$input"
"""


def state(child: starter.Started, stdin: bytes = b"") -> tuple[int, list[int], bool, str]:
    """What READ_STATE printed: the ignored signals' mask, the open descriptors, whether it
    leads its own process group, and what it read."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(stdin + b"\n")
    child.stdin.close()
    lines = child.stdout.read().decode().splitlines()
    assert finish(child) == 0
    return (int(lines[0], 16), [int(fd) for fd in lines[1].split()], lines[2] == "leader",
            lines[3])


def finish(child: starter.Started) -> int:
    """Close our ends of its pipes and reap it."""
    for pipe in (child.stdin, child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()
    return child.wait()


def test_a_child_gets_no_other_descriptor_and_default_sigpipe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(starter, "_swept", None)  # as in a server that never started one
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)  # as one inherited from whoever started tfhook
    try:
        child = starter.start(["/bin/sh", "-c", READ_STATE], None, None)
        assert isinstance(child, starter.Spawned)
        ignored, fds, leader, read = state(child, b"in")
    finally:
        os.close(read_end)
        os.close(write_end)
    assert fds == [0, 1, 2, 3]  # 3: ls's own listing of /proc/self/fd
    # Python ignores SIGPIPE and SIGXFSZ; its children must not (Popen's restore_signals).
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # here, as in tfhook
    assert not ignored & (1 << (signal.SIGPIPE - 1))
    assert not ignored & (1 << (signal.SIGXFSZ - 1))
    assert leader and read == "in"


def test_a_child_with_a_directory_or_a_bare_name_goes_through_popen(tmp_path: Path) -> None:
    in_dir = starter.start(["/bin/pwd"], None, tmp_path)
    by_name = starter.start(["pwd"], None, None)  # searched in the child's PATH, as Popen does
    for child, where in ((in_dir, str(tmp_path)), (by_name, os.getcwd())):
        assert isinstance(child, subprocess.Popen)
        assert child.stdout is not None and child.stdout.read().decode().strip() == where
        assert finish(child) == 0


def test_a_missing_program_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        starter.start([str(tmp_path / "missing")], None, None)
    assert finish(starter.start(["/bin/sh", "-c", "exit 3"], None, None)) == 3


def test_a_server_started_without_stdin_still_gives_children_theirs() -> None:
    # With fd 0 closed, a pipe's end is fd 0 itself: that start goes through Popen.
    script = ("import os, sys\nos.close(0)\nfrom tfhook.process import starter\n"
              "child = starter.start(['/bin/cat'], None, None)\n"
              "child.stdin.write(b'through'); child.stdin.close()\n"
              "sys.stdout.write(child.stdout.read().decode()); child.wait()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout == "through"


@pytest.fixture
def raised(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[list[str]]]]:
    """This process as a server started with a soft open files limit below its hard one
    (restored after), and the argv of every posix_spawn."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if (hard != resource.RLIM_INFINITY and hard < 2048) or rlimit.launcher(0) is None:
        pytest.skip("needs a hard open files limit of 2048 or more, and prlimit or /bin/sh")
    original = 1024
    resource.setrlimit(resource.RLIMIT_NOFILE, (original, hard))
    spawned: list[list[str]] = []
    real = os.posix_spawn

    def recorded(path: str, argv: list[str], *args: Any, **kwargs: Any) -> int:
        spawned.append(list(argv))
        return real(path, argv, *args, **kwargs)

    monkeypatch.setattr(os, "posix_spawn", recorded)
    monkeypatch.setattr(rlimit, "_prefix", None)
    try:
        assert rlimit.raise_open_files() == hard
        yield original, spawned
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def soft_limit_of(child: starter.Started) -> int:
    assert child.stdout is not None
    limit = int(child.stdout.read())
    assert finish(child) == 0
    return limit


def test_a_child_inherits_the_original_limit_while_descriptors_are_few(raised) -> None:
    original, spawned = raised
    assert soft_limit_of(starter.start(["/bin/sh", "-c", "ulimit -Sn"], None, None)) == original
    assert spawned == [["/bin/sh", "-c", "ulimit -Sn"]]  # no launcher before it
    # tfhook's own limit is the raised one again.
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] > original


def test_a_child_starts_through_the_launcher_when_descriptors_are_many(raised) -> None:
    original, spawned = raised
    taken = [os.open("/", os.O_RDONLY | os.O_CLOEXEC) for _ in range(original)]
    try:  # the lowest free descriptor is above the original limit now
        child = starter.start(["/bin/sh", "-c", "ulimit -Sn"], None, None)
        assert soft_limit_of(child) == original
    finally:
        for fd in taken:
            os.close(fd)
    assert len(spawned) == 1 and spawned[0][0] in (*rlimit.PRLIMIT, rlimit.SHELL)
    assert spawned[0][-3:] == ["/bin/sh", "-c", "ulimit -Sn"]


def test_a_start_waits_while_another_holds_the_limit_lowered(
        raised: tuple[int, list[list[str]]]) -> None:
    # A start that takes its pipes while another start has tfhook's own limit lowered took
    # them under the original limit: near it, EMFILE ("Too many open files") for a call,
    # seen with 50 calls at once while 1,100 connections were being opened.
    original, _ = raised
    real = os.posix_spawn  # (the fixture's recorder)
    in_window, go_on = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> int:
        if threading.current_thread().name == "first":
            in_window.set()
            assert go_on.wait(60)  # a hang guard
        return real(*args, **kwargs)

    first: list[starter.Started] = []
    thread = threading.Thread(name="first", target=lambda: first.append(
        starter.start(["/bin/sh", "-c", "ulimit -Sn"], None, None)))
    taken: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "posix_spawn", held)
        thread.start()
        try:
            assert in_window.wait(60)
            # Descriptors taken meanwhile (connections accepted) up to 3 below the limit.
            while (fd := os.open("/", os.O_RDONLY | os.O_CLOEXEC)) < original - 3:
                taken.append(fd)
            taken.append(fd)
            threading.Timer(0.3, go_on.set).start()
            second = starter.start(["/bin/sh", "-c", "ulimit -Sn"], None, None)
        finally:
            go_on.set()
            thread.join(60)
            for fd in taken:
                os.close(fd)
    assert soft_limit_of(second) == original
    assert soft_limit_of(first[0]) == original
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] > original


def test_pipes_at_or_above_the_margin_go_through_the_launcher(
        raised: tuple[int, list[list[str]]]) -> None:
    # A descriptor at or above the limit in force cannot be dup2'd onto fd 0-2 (EBADF).
    original, _ = raised
    with rlimit.starting(), rlimit.for_child(["/bin/true"], None, [original - 1]) as run:
        assert run[0] in (*rlimit.PRLIMIT, rlimit.SHELL)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] > original
