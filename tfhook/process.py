"""The one door to child processes: spawn in a new group, stream, time out, stop the group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog

from tfhook.errors import ActionFailed, ActionTimeout

log = structlog.get_logger("tfhook.process")

_CHUNK = 64 * 1024
_STDERR_KEEP = 64 * 1024
# How long output may keep flowing after the main process exited. A background child
# that keeps stdout open past this is holding the call hostage: its group is stopped.
DRAIN_AFTER_EXIT = 1.0


@dataclass(frozen=True, slots=True)
class Spec:
    """How to run one child.

    Attributes:
        argv: program and arguments (no shell).
        name: how messages name the program.
        stdin: bytes written to standard input, which is then closed.
        env: the whole environment; None inherits ours.
        cwd: working directory.
        timeout: seconds before the stop ladder starts.
        kill_after: seconds between the stop signal and SIGKILL.
        stop_signal: the first signal (SIGTERM for hooks, SIGINT for Terraform).
    """

    argv: Sequence[str]
    name: str
    stdin: bytes = b""
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    timeout: float = 900.0
    kill_after: float = 10.0
    stop_signal: int = signal.SIGTERM


@dataclass(frozen=True, slots=True)
class Exit:
    """How a child ended."""

    returncode: int
    stderr: bytes

    def describe(self) -> str:
        """Go's wording: `exit status 3` or `signal: killed`."""
        if self.returncode < 0:
            name = signal.strsignal(-self.returncode) or f"signal {-self.returncode}"
            return f"signal: {name.lower()}"
        return f"exit status {self.returncode}"

    def stderr_tail(self, lines: int = 10, limit: int = 2048) -> str:
        """The last lines of standard error, as text of at most `limit` UTF-8 bytes.

        The tail goes into a gRPC status message, which travels as a header: clients
        refuse headers over 8-16 KiB, so one long line must not make it that large.
        """
        text = self.stderr.decode("utf-8", "replace").rstrip()
        tail = "\n".join(text.splitlines()[-lines:])
        data = tail.encode("utf-8")
        if len(data) > limit:
            tail = "…" + data[-limit:].decode("utf-8", "ignore")
        return tail


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the main process exits, even while others still hold its pipes.

    On Python 3.11 `Process.wait()` also waits for every pipe to close, so a background
    child keeping stdout open would hide the exit and the drain window would never start.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


class Child:
    """A running child in its own process group. Use as `async with Child(spec) as child`.

    Leaving the block reaps the child, also when the caller is cancelled; a main process
    still running then is stopped with its group (stop signal, then SIGKILL). Background
    children that let go of stdout are left alone once the main process has exited.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._proc: asyncio.subprocess.Process | None = None
        self._deadline = 0.0
        self._exited: asyncio.Task[int] | None = None
        self._exit_seen_at: float | None = None
        self._stderr = bytearray()
        self._helpers: list[asyncio.Task[None]] = []
        self._transport: asyncio.SubprocessTransport | None = None

    async def __aenter__(self) -> Child:
        spec = self.spec
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(_CHUNK, loop),
                *spec.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=dict(spec.env) if spec.env is not None else None,
                cwd=spec.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            reason = str(exc)
            if isinstance(exc, FileNotFoundError) and os.path.isfile(spec.argv[0]):
                reason = "its #! interpreter was not found (the file itself exists)"
            raise ActionFailed(f'command "{spec.name}" could not start: {reason}') from exc
        self._transport = transport
        self._proc = asyncio.subprocess.Process(transport, protocol, loop)
        self._deadline = time.monotonic() + spec.timeout
        self._exited = asyncio.ensure_future(self._main_exit(protocol))
        self._helpers = [
            asyncio.ensure_future(self._feed_stdin()),
            asyncio.ensure_future(self._collect_stderr()),
        ]
        log.debug("child started", name=spec.name, pid=self._proc.pid)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A cancelled call must still take its process group down with it, and must not
        # return before the group is gone (a single flight would otherwise overlap runs).
        finish = asyncio.ensure_future(self._finish())
        cancelled = False
        while not finish.done():
            try:
                await asyncio.shield(finish)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError

    async def chunks(self) -> AsyncIterator[bytes]:
        """Standard output as it comes, until EOF; raises ActionTimeout past the timeout."""
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        while True:
            chunk = await self._race(stdout.read(_CHUNK))
            if not chunk:
                return
            yield chunk

    async def lines(self) -> AsyncIterator[bytes]:
        """Standard output split into lines (without the newline)."""
        pending = b""
        async for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line
        if pending:
            yield pending

    async def wait(self) -> Exit:
        """Wait for the main process to exit (within the timeout) and return how it ended."""
        assert self._exited is not None
        remaining = self._deadline - time.monotonic()
        try:
            async with asyncio.timeout(max(remaining, 0)):
                returncode = await asyncio.shield(self._exited)
        except TimeoutError:
            await self._timeout()
            raise AssertionError("unreachable") from None
        for task in self._helpers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), DRAIN_AFTER_EXIT)
        return Exit(returncode, bytes(self._stderr))

    async def _race(self, read: Awaitable[bytes]) -> bytes:
        """Await a read, watching the deadline and the drain window after exit."""
        assert self._exited is not None
        task: asyncio.Future[bytes] = asyncio.ensure_future(read)
        try:
            while True:
                now = time.monotonic()
                if self._exited.done():
                    self._exit_seen_at = self._exit_seen_at or now
                    # The main process ended in time: only the drain window counts now.
                    budget = self._exit_seen_at + DRAIN_AFTER_EXIT - now
                    waits: set[asyncio.Future[object]] = {task}  # type: ignore[arg-type]
                else:
                    budget = self._deadline - now
                    waits = {task, self._exited}  # type: ignore[arg-type]
                done, _ = await asyncio.wait(
                    waits, timeout=max(budget, 0), return_when=asyncio.FIRST_COMPLETED
                )
                if task in done:
                    return task.result()
                if done:
                    continue  # the main process exited: switch to the drain window
                if self._exited.done():
                    log.warning("background process holds stdout open; stopping its group",
                                name=self.spec.name)
                    await self._stop_group(until=task)  # until the pipe closes
                    return b""
                await self._timeout()
        finally:
            if not task.done():
                task.cancel()

    async def _main_exit(self, protocol: _Protocol) -> int:
        await protocol.exited
        assert self._proc is not None and self._proc.returncode is not None
        return self._proc.returncode

    async def _timeout(self) -> None:
        await self._stop_group()
        spec = self.spec
        raise ActionTimeout(
            f'command "{spec.name}" timed out after {_human(spec.timeout)}: sent '
            f"{signal.Signals(spec.stop_signal).name} to its process group"
            f" (SIGKILL after {_human(spec.kill_after)})"
        )

    async def _stop_group(self, until: asyncio.Future[Any] | None = None) -> None:
        """The ladder: stop signal to the group, up to kill_after for `until` (by default the
        main process's exit; a pending stdout read when only a background child is left),
        then SIGKILL to the group."""
        assert self._proc is not None and self._exited is not None
        spec = self.spec
        _signal_group(self._proc.pid, spec.stop_signal)
        try:
            with contextlib.suppress(TimeoutError):
                watched = self._exited if until is None else until
                await asyncio.wait_for(asyncio.shield(watched), spec.kill_after)
        finally:
            # Whatever is left of the group (plugins, background children) goes too; at
            # once if this wait is cancelled (forced shutdown): nothing may outlive us.
            _signal_group(self._proc.pid, signal.SIGKILL)
        await asyncio.shield(self._exited)

    async def _finish(self) -> None:
        assert self._exited is not None
        if not self._exited.done():
            await self._stop_group()
        await self._exited
        for task in self._helpers:
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        # The pipes may still be open (a background child held them until its group was
        # stopped): close them now rather than leave them to the event loop or the GC.
        assert self._transport is not None
        self._transport.close()

    async def _feed_stdin(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        stdin = self._proc.stdin
        try:
            stdin.write(self.spec.stdin)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child did not read its input; like the reference, not an error
        finally:
            stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await stdin.wait_closed()

    async def _collect_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(_CHUNK):
            self._stderr += chunk
            if len(self._stderr) > 2 * _STDERR_KEEP:
                del self._stderr[:-_STDERR_KEEP]


async def capture(spec: Spec) -> tuple[bytes, Exit]:
    """Run a short child to its end and return all its output and how it ended.

    Args:
        spec: what to run.

    Returns:
        (standard output, Exit).
    """
    async with Child(spec) as child:
        output = b"".join([chunk async for chunk in child.chunks()])
        return output, await child.wait()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _human(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60 or seconds % 60:
        return f"{seconds:g}s"
    if seconds < 3600 or seconds % 3600:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


def exec_replace(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Replace this process with argv (for `tfhook terraform`); returns only on failure."""
    try:
        os.execve(argv[0], list(argv), dict(env))
    except OSError as exc:
        log.error("cannot run", program=argv[0], error=str(exc))
    return 127
