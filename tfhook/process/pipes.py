"""A started child's pipes and exit, watched straight from the event loop.

Each pipe and the child's pidfd is one file descriptor the loop watches: output, end of
output and exit arrive as callbacks, with no transport, task or thread per child or per
read. A reader waits on one future that any of them (or its own timer) wakes. The exit is
seen on its own, even while background children still hold the pipes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import os

from tfhook.process.starter import Started

_CHUNK = 64 * 1024
_STDERR_KEEP = 64 * 1024
# Stop reading the child's stdout while this much is buffered and not yet consumed.
_HIGH_WATER = 1024 * 1024
_PIPE_SIZE = 1024 * 1024


class Pipes:
    """Feeds stdin, collects stdout chunks and a bounded stderr tail, reaps the child."""

    def __init__(self, loop: asyncio.AbstractEventLoop, proc: Started,
                 stdin: bytes, read_every: float = 0.0) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.loop = loop
        self.proc = proc
        self.out: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.stderr = bytearray()
        self.stderr_cut = False  # its start was dropped (more than _STDERR_KEEP came)
        self.exited: asyncio.Future[int] = loop.create_future()
        self.stdout_closed: asyncio.Future[None] = loop.create_future()
        self.stderr_closed: asyncio.Future[None] = loop.create_future()
        self._waiter: asyncio.Future[None] | None = None
        self._stdin = memoryview(stdin)
        self._fds = {proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno()}
        for fd in self._fds:
            os.set_blocking(fd, False)
        self._out_fd, self._err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        # Output that trickles in (Terraform's progress) is read at most this often: one
        # wake-up per line would cost more than everything else done with the line.
        self._read_every = read_every
        if read_every:  # room for what comes in between (Linux; the default is 64 KiB)
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(self._out_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self._rest: asyncio.TimerHandle | None = None
        self._reading = True
        loop.add_reader(self._out_fd, self._read, self._out_fd)
        loop.add_reader(self._err_fd, self._read, self._err_fd)
        self._in_fd = proc.stdin.fileno()
        self._write()
        self._watch_exit()

    # -- callbacks from the loop ------------------------------------------------------

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, _CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(fd)
            done = self.stdout_closed if fd == self._out_fd else self.stderr_closed
            done.set_result(None)
        elif fd == self._out_fd:
            self.out.append(data)
            self.buffered += len(data)
            # A full read means more is waiting: no rest then, the writer must not block.
            if self._read_every and len(data) < _CHUNK and not self.exited.done():
                self._rest = self.loop.call_later(self._read_every, self._rested)
            self._update_reader()  # a rest, or too much buffered until the reader takes it
        else:
            self.stderr += data
            if len(self.stderr) > 2 * _STDERR_KEEP:
                del self.stderr[:-_STDERR_KEEP]
                self.stderr_cut = True
        self._wake()

    def _write(self) -> None:
        """Write what the child's stdin takes now; the rest when it is writable again."""
        try:
            while self._stdin:
                self._stdin = self._stdin[os.write(self._in_fd, self._stdin):]
        except (BlockingIOError, InterruptedError):
            self.loop.add_writer(self._in_fd, self._write)
            return
        except OSError:
            pass  # the child did not read its input; like the reference, not an error
        self._close(self._in_fd)

    def _watch_exit(self) -> None:
        try:
            pidfd = os.pidfd_open(self.proc.pid)
        except OSError:  # a kernel before 5.3: a thread waits instead
            waited = self.loop.run_in_executor(None, self.proc.wait)
            waited.add_done_callback(lambda _: self._exited())
            return

        def readable() -> None:
            self.loop.remove_reader(pidfd)
            os.close(pidfd)
            self._exited()

        self.loop.add_reader(pidfd, readable)

    def _rested(self) -> None:
        self._rest = None
        self._update_reader()

    def _update_reader(self) -> None:
        want = (self._out_fd in self._fds and self.buffered <= _HIGH_WATER
                and self._rest is None)
        if want != self._reading:
            if want:
                self.loop.add_reader(self._out_fd, self._read, self._out_fd)
            else:
                self.loop.remove_reader(self._out_fd)
            self._reading = want

    def _exited(self) -> None:
        if self._rest is not None:  # what is left of the output comes at once now
            self._rest.cancel()
            self._rested()
        returncode = self.proc.wait()  # at once: the child has exited
        if not self.exited.done():
            self.exited.set_result(returncode)
        self._wake()

    # -- the reader's side ------------------------------------------------------------

    def take(self) -> bytes:
        """Everything buffered from stdout (b"" when nothing is)."""
        data = self.out[0] if len(self.out) == 1 else b"".join(self.out)
        self.out.clear()
        self.buffered = 0
        self._update_reader()
        return data

    async def wait(self, when: float) -> None:
        """Until something happens or the loop time `when` comes."""
        waiter = self.loop.create_future()
        self._waiter = waiter
        timer = self.loop.call_at(when, self._wake)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def close(self) -> None:
        """Stop watching and close our ends of the pipes (a background child may hold
        the others)."""
        if self._rest is not None:
            self._rest.cancel()
        for fd in list(self._fds):
            self._close(fd)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _close(self, fd: int) -> None:
        if fd not in self._fds:
            return
        self._fds.discard(fd)
        if fd == self._in_fd:
            self.loop.remove_writer(fd)
            pipe = self.proc.stdin
        else:
            self.loop.remove_reader(fd)
            self._reading = self._reading and fd != self._out_fd
            pipe = self.proc.stdout if fd == self._out_fd else self.proc.stderr
        assert pipe is not None
        with contextlib.suppress(OSError):
            pipe.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
