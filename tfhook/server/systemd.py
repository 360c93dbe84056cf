"""Telling systemd how tfhook is (sd_notify, #24): READY=1 once health answers SERVING,
STOPPING=1, RELOADING=1 and READY=1 around a SIGHUP reload, a one-line STATUS=, and the
watchdog's WATCHDOG=1 while the event loop answers.

The protocol is one datagram to the unix socket in $NOTIFY_SOCKET (abstract when it starts
with `@`), so it is written here rather than taken from PyPI: the pure-Python packages are
unmaintained (sdnotify's last release is from 2017, sd-notify's from 2020) and systemd-python
and cysystemd build against libsystemd's headers. Without $NOTIFY_SOCKET nothing is sent; a
socket that refuses a message is logged once and never changes an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

import structlog

from tfhook.core.model import Event, Outcome, outcome_name
from tfhook.core.observer import Observer, Run

log = structlog.get_logger("tfhook.systemd")


class Notifier(Observer):
    """What tfhook tells systemd; an observer of runs and calls, for the STATUS line."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog = _watchdog_interval(env) if self.address else None
        self._socket: socket.socket | None = None
        self._serving = ""  # the STATUS line's start, once READY=1 was sent
        self._last: dict[str, str] = {}  # last run, last call
        self._status = ""
        self._stopping = False
        self._failed = False
        self._pinger: asyncio.Task[None] | None = None

    def send(self, *fields: str) -> bool:
        """Send one message (`NAME=value` fields); False when not sent (logged once)."""
        if not self.address:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            self._socket.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.warning("systemd notify socket refused a message; tfhook serves on",
                            socket=_shown(self.address), error=str(exc))
            return False
        return True

    def ready(self, found: Mapping[str, str], addr: str) -> None:
        """Serving: health answers SERVING. Send READY=1 and the status; start the pings."""
        dirs = f"; dirs {found['dirs']}" if "dirs" in found else ""
        self._serving = f"serving {found.get('routes', '')} on {addr}{dirs}"
        self.send("READY=1", f"STATUS={self._line()}")
        if self.watchdog is not None and self._pinger is None:
            self._pinger = asyncio.ensure_future(self._ping(self.watchdog))

    def stopping(self) -> None:
        """Shutdown begins (once)."""
        if not self._stopping:
            self._stopping = True
            self.send("STOPPING=1", "STATUS=stopping: calls in flight finish")

    @contextlib.asynccontextmanager
    async def reloading(self) -> AsyncIterator[None]:
        """RELOADING=1 (with the monotonic clock systemd asks for), then READY=1."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading the routes file")
        try:
            yield
        finally:
            if not self._stopping:
                self.send("READY=1", f"STATUS={self._line()}")

    def run_end(self, run: Run) -> None:
        self._note("last run", f"run-{run.id} {run.route} {run.outcome}" if run.id is not None
                   else f"{run.route} {run.outcome}")

    def route_end(self, outcome: Outcome) -> None:
        if isinstance(outcome.action.trigger, Event) and outcome.action.hook is not None:
            name = outcome_name(outcome.final, outcome.error_kind if outcome.error else None)
            self._note("last call", f"{outcome.action.hook} {name}")

    def _note(self, what: str, text: str) -> None:
        if not self.address:  # not under systemd: nobody reads the status line
            return
        self._last[what] = f"{what} {text} at {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
        if self._serving and not self._stopping:
            before = self._status
            if self._line() != before:
                self.send(f"STATUS={self._status}")

    def _line(self) -> str:
        self._status = "; ".join([self._serving, *self._last.values()]).replace("\n", " ")
        return self._status

    async def _ping(self, every: float) -> None:
        # A task on the event loop: a loop that is stuck (a blocking call, a busy loop) sends
        # no ping, and systemd restarts tfhook after WatchdogSec.
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(every)

    async def close(self) -> None:
        """Stop the pings and close the socket."""
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _address(value: str) -> str:
    """The socket address: `@name` is abstract (a NUL first); else an absolute path; else ""."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    if value:
        log.warning("NOTIFY_SOCKET is neither a path nor @abstract: systemd is told nothing",
                    socket=value)
    return ""


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of $WATCHDOG_USEC in seconds (as sd_watchdog_enabled advises), when it is for us."""
    pid = env.get("WATCHDOG_PID", "")
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000


def _shown(address: str) -> str:
    return "@" + address[1:] if address.startswith("\0") else address
