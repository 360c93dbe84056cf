"""The child's pipes as one protocol: output and exit arrive as callbacks, no task per read.

A reader waits on one future that any of these wakes: output, end of output, the main
process's exit (which Python 3.11's `Process.wait()` hides while others hold the pipes),
or its own timer.
"""

from __future__ import annotations

import asyncio
import collections

_STDERR_KEEP = 64 * 1024
# Stop reading the child's stdout while this much is buffered and not yet consumed.
_HIGH_WATER = 1024 * 1024


class Pipes(asyncio.SubprocessProtocol):
    """Collects stdout chunks and a bounded stderr tail; tells when each side ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.SubprocessTransport | None = None
        self.out: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.stderr = bytearray()
        self.exited: asyncio.Future[int] = loop.create_future()
        self.stdout_closed: asyncio.Future[None] = loop.create_future()
        self.stderr_closed: asyncio.Future[None] = loop.create_future()
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    # -- callbacks from the transport ----------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self.out.append(data)
            self.buffered += len(data)
            if self.buffered > _HIGH_WATER and not self._paused:
                self._pause(True)
            self._wake()
        elif fd == 2:
            self.stderr += data
            if len(self.stderr) > 2 * _STDERR_KEEP:
                del self.stderr[:-_STDERR_KEEP]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        done = {1: self.stdout_closed, 2: self.stderr_closed}.get(fd)
        if done is not None and not done.done():
            done.set_result(None)
        self._wake()

    def process_exited(self) -> None:
        assert self.transport is not None
        if not self.exited.done():
            returncode = self.transport.get_returncode()
            self.exited.set_result(returncode if returncode is not None else -1)
        self._wake()

    # -- the reader's side ------------------------------------------------------------

    def take(self) -> bytes:
        """Everything buffered from stdout (b"" when nothing is)."""
        data = b"".join(self.out) if len(self.out) != 1 else self.out[0]
        self.out.clear()
        self.buffered = 0
        if self._paused:
            self._pause(False)
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

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _pause(self, pause: bool) -> None:
        assert self.transport is not None
        pipe = self.transport.get_pipe_transport(1)
        if isinstance(pipe, asyncio.ReadTransport) and not pipe.is_closing():
            pipe.pause_reading() if pause else pipe.resume_reading()
        self._paused = pause
