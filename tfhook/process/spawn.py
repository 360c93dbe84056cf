"""The one door to child processes: spawn in a new group, stream, time out, stop the group."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, NoReturn

import structlog

from tfhook.config.env import for_children
from tfhook.core.awaiting import to_the_end
from tfhook.errors import ActionFailed, ActionTimeout
from tfhook.observe import logs
from tfhook.process import launch, orphans, seam, starter
from tfhook.process.pipes import Pipes
from tfhook.process.spec import Exit, Spec

__all__ = ["DRAIN_AFTER_EXIT", "Child", "Exit", "Spec", "capture"]
log = structlog.get_logger("tfhook.process")

# How long output may keep flowing after the main process exited. A background child
# that keeps stdout open past this is holding the call hostage: its group is stopped.
DRAIN_AFTER_EXIT = 1.0


class Child:
    """A running child in its own process group. Use as `async with Child(spec) as child`.

    Leaving the block reaps the child, also when the caller is cancelled; a main process
    still running then is stopped with its group (stop signal, then SIGKILL). Background
    children that let go of stdout are left alone once the main process has exited.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._pipes: Pipes | None = None
        self._deadline = 0.0
        self._exit_seen_at: float | None = None
        self._pid = 0
        self._ticket = 0  # the watchdog's (see orphans)
        self._watch: seam.Watch | None = None

    async def __aenter__(self) -> Child:
        spec = self.spec
        loop = asyncio.get_running_loop()
        orphans.watch()  # its group is stopped if tfhook dies (see orphans)
        self._watch = seam.watcher(spec) if seam.watcher is not None else None  # tracing
        env = spec.env if self._watch is None else self._watch.environment(spec.env)
        try:
            # A new process group, not a new session: the group is what gets signalled,
            # and setsid also puts every child in a new scheduler autogroup (slow under load).
            # The child gets the open files limit tfhook was started with (see rlimit).
            proc, cancelled = await launch.start(functools.partial(
                starter.start, spec.argv, for_children(env), spec.cwd))
        except OSError as exc:
            self._reaped()
            raise self._not_started(str(exc), isinstance(exc, FileNotFoundError)) from exc
        assert proc.stdout is not None and proc.stderr is not None
        self._ticket = orphans.started(proc.pid, spec.stop_signal, spec.limits.kill_after,
                                                (proc.stdout.fileno(), proc.stderr.fileno()),
                                                _killed_note(spec))
        self._pid = proc.pid
        self._pipes = Pipes(loop, proc, spec.stdin, spec.read_every)
        self._deadline = loop.time() + spec.limits.timeout
        if logs.enabled(logs.DEBUG):
            log.debug("child started", name=spec.name, pid=self._pid)
        if cancelled is not None:  # while it started: stopped as any cancelled child is
            await self.__aexit__(type(cancelled), cancelled, None)
            raise cancelled
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._pipes is not None
        if self._pipes.exited.done():  # the usual case: nothing left to stop
            self._pipes.close()
            orphans.ended(self._ticket)
            self._reaped()
            return
        # A cancelled call must still take its process group down with it, and must not
        # return before the group is gone (a single flight would otherwise overlap runs).
        finish = asyncio.ensure_future(self._finish())
        finish.add_done_callback(lambda _: orphans.ended(self._ticket))
        finish.add_done_callback(lambda _: self._reaped())
        await to_the_end(finish)

    @property
    def exited(self) -> bool:
        """Whether the main process has exited, also when the loop has not reaped it yet."""
        if self._pipes is None or self._pipes.exited.done():
            return self._pipes is not None
        try:  # WNOWAIT: look, leave the reaping to the pipes
            return os.waitid(os.P_PID, self._pid, os.WEXITED | os.WNOHANG | os.WNOWAIT
                             ) is not None
        except ChildProcessError:
            return True

    async def chunks(self) -> AsyncIterator[bytes]:
        """Standard output as it comes, until EOF; raises ActionTimeout past the timeout."""
        pipes = self._pipes
        assert pipes is not None
        while True:
            # Output that never pauses must not outrun the deadline or the drain window.
            if pipes.out and (pipes.stdout_closed.done() or pipes.loop.time() < self._until()):
                yield pipes.take()
            elif pipes.stdout_closed.done() or not await self._wait_output(pipes):
                return

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
        pipes = self._pipes
        assert pipes is not None
        if not pipes.exited.done():
            remaining = self._deadline - pipes.loop.time()
            try:
                async with asyncio.timeout(max(remaining, 0)):
                    await asyncio.shield(pipes.exited)
            except TimeoutError:
                await self._timeout()
        if not pipes.stderr_closed.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pipes.stderr_closed), DRAIN_AFTER_EXIT)
        return Exit(pipes.exited.result(), bytes(pipes.stderr), pipes.stderr_cut)

    def _reaped(self) -> None:
        """Tell the watcher (tracing) how the child ended, once."""
        launch.ended(self._pid)
        watch, self._watch = self._watch, None
        if watch is not None:
            exited = None if self._pipes is None else self._pipes.exited
            watch.ended(exited.result() if exited is not None and exited.done()
                        and not exited.cancelled() else None)

    def _not_started(self, reason: str, not_found: bool) -> ActionFailed:
        """The error of a child that could not start, saying why in the user's terms."""
        spec = self.spec
        if spec.cwd is not None and not os.path.isdir(spec.cwd):
            reason = f"its directory {spec.cwd} no longer exists"  # removed while serving
        elif not_found and os.path.isfile(spec.argv[0]):
            reason = "its #! interpreter was not found (the file itself exists)"
        return ActionFailed(f'command "{spec.name}" could not start: {reason}')

    async def _wait_output(self, pipes: Pipes) -> bool:
        """Wait for output, watching the deadline and the drain window after exit.

        Returns False when stdout is given up (a background child kept it open).
        """
        now, until = pipes.loop.time(), self._until()
        if now < until:
            await pipes.wait(until)
            return True
        if not pipes.exited.done():
            await self._timeout()
        log.warning("background process holds stdout open; stopping its group",
                    name=self.spec.name)
        await self._stop_group(until=pipes.stdout_closed)  # until the pipe closes
        return False

    def _until(self) -> float:
        """When reading must stop: the deadline, or once the main process ended in time,
        the end of the drain window."""
        assert self._pipes is not None
        if not self._pipes.exited.done():
            return self._deadline
        self._exit_seen_at = self._exit_seen_at or self._pipes.loop.time()
        return self._exit_seen_at + DRAIN_AFTER_EXIT

    async def _timeout(self) -> NoReturn:
        await self._stop_group()
        spec = self.spec
        raise ActionTimeout(
            f'command "{spec.name}" timed out after {_human(spec.limits.timeout)}: sent '
            f"{signal.Signals(spec.stop_signal).name} to its process group"
            f" (SIGKILL after {_human(spec.limits.kill_after)})"
        )

    async def _stop_group(self, until: asyncio.Future[Any] | None = None) -> None:
        """The ladder: stop signal to the group, up to kill_after for `until` (by default the
        main process's exit; stdout's end when only a background child is left), then
        SIGKILL to the group."""
        pipes = self._pipes
        assert pipes is not None
        spec = self.spec
        _signal_group(self._pid, spec.stop_signal)
        try:
            watched = pipes.exited if until is None else until
            try:
                await asyncio.wait_for(asyncio.shield(watched), spec.limits.kill_after)
            except TimeoutError:
                _warn_killed(spec, until is None)
        finally:
            # Whatever is left of the group (plugins, background children) goes too; at
            # once if this wait is cancelled (forced shutdown): nothing may outlive us.
            _signal_group(self._pid, signal.SIGKILL)
        await asyncio.shield(pipes.exited)

    async def _finish(self) -> None:
        pipes = self._pipes
        assert pipes is not None
        try:
            if not pipes.exited.done():
                await self._stop_group()
        finally:
            # The pipes may still be open (a background child held them until its group
            # was stopped): close them now rather than leave them to the GC.
            pipes.close()


def _killed_note(spec: Spec) -> str:
    """What the watchdog writes if tfhook is gone and it has to kill this child."""
    if not spec.if_killed:
        return ""
    named = spec.cwd is None or str(spec.cwd) in spec.name  # "terraform in DIR" names it
    return f"{spec.name if named else f'{spec.name} in {spec.cwd}'}: {spec.if_killed}"


def _warn_killed(spec: Spec, main: bool) -> None:
    """Say so when a child ignored its stop signal for kill_after and is killed outright."""
    with contextlib.suppress(Exception):  # logging never stops the ladder
        log.warning("did not stop after its stop signal; killing it (SIGKILL)",
                    child=spec.name, signal=signal.Signals(spec.stop_signal).name,
                    kill_after=spec.limits.kill_after, what=("the program" if main
                                                      else "a background child"),
                    **({"note": spec.if_killed} if spec.if_killed else {}))


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
