"""No orphans: every child's process group is stopped when tfhook dies, even by SIGKILL (#12).

One watchdog process (tfhook/process/watchdog.py) is started with the first child and lives as
long as tfhook. It reads a socket whose other end only tfhook holds (close-on-exec, and
children are started with close_fds): a message when a child's group is started, with
the read ends of the child's output pipes, and one when tfhook no longer supervises it.
When tfhook dies the kernel closes tfhook's end; the watchdog reads end of input and
stops each group left with its stop signal (SIGINT for Terraform, which then stops
gracefully and releases its state lock; SIGTERM for hooks), then SIGKILL after its
kill_after. The whole group: a hook's background jobs too. The read ends it holds keep
what a child prints as it stops from killing it by SIGPIPE.

Per child this costs one short non-blocking send at start and one at the end, and no
extra exec (a wrapper such as util-linux's `setpriv --pdeathsig` doubled the cost of a
spawn). Sends never block tfhook: a watchdog that went away is started again and told of
the groups still supervised (without their pipes); a full socket (a stalled watchdog)
costs that message, logged.

Limits: a group is let go (as tfhook itself lets it go) once its main process is reaped
and its output has ended, so a background job that let go of stdout outlives the hook
as it would with tfhook running. A child is told of between its spawn and the next few
instructions; tfhook killed in between leaves that one child unwatched.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
from pathlib import Path

import structlog

log = structlog.get_logger("tfhook.process")

_SCRIPT = str(Path(__file__).with_name("watchdog.py"))
_NOTE_MAX = 4000  # characters: the watchdog reads messages of up to 8 KiB


class _Watchdog:
    """tfhook's end of the socket to the watchdog, and the groups it was told of."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.groups: dict[int, bytes] = {}  # what the watchdog was told, by ticket
        self.tickets = itertools.count(1)

    def start(self) -> None:
        # Both ends close-on-exec: no child inherits them. One message per send.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            try:
                self.proc = subprocess.Popen(
                    [sys.executable, "-S", "-I", _SCRIPT], stdin=theirs.fileno(),
                    # stderr is ours (the journal): the one line on a group it had to kill.
                    stdout=subprocess.DEVNULL, cwd="/",
                    process_group=0)
            except OSError:
                ours.close()
                raise
        ours.setblocking(False)
        self.sock = ours
        for message in self.groups.values():  # a restarted watchdog learns what runs
            self.send(message, (), again=False)

    def try_start(self) -> None:
        """Start it; a failure is logged, never raised: children run on unwatched."""
        try:
            self.start()
        except OSError as exc:  # tried again with the next child
            log.warning("cannot start the watchdog; a child may outlive a killed tfhook",
                        error=str(exc))

    def send(self, message: bytes, fds: tuple[int, ...], again: bool = True) -> None:
        if self.sock is None:  # gone, and not restarted: nobody to tell
            return
        try:
            socket.send_fds(self.sock, [message], list(fds))
        except BlockingIOError:
            log.warning("watchdog not reading; a child may outlive a killed tfhook")
        except OSError as exc:  # it went away (EPIPE, ECONNRESET)
            log.warning("watchdog gone; starting another", error=str(exc))
            self.forget()
            if again:  # once: a watchdog that cannot live is not restarted in a loop
                self.try_start()

    def forget(self) -> None:
        """Forget a watchdog that went away (reaped: it has exited)."""
        assert self.sock is not None and self.proc is not None
        self.sock.close()
        self.proc.wait()
        self.proc = self.sock = None


_watchdog = _Watchdog()


def watch() -> None:
    """Start the watchdog if it is not running: before a child, so that the child is
    not left unwatched while it starts."""
    if _watchdog.proc is None:
        _watchdog.try_start()


def started(pgid: int, stop_signal: int, kill_after: float, pipes: tuple[int, ...],
            note: str = "") -> int:
    """Tell the watchdog of a new group and hand it the read ends of its output `pipes`.

    `note` is what the watchdog writes to the journal if it has to kill the group
    (Terraform's: its directory's state lock may still be held, and how to check).

    Returns:
        the ticket to pass to `ended` (not the pgid: a reaped leader's pid may be taken
        by the next child before the first one's end is told).
    """
    ticket = next(_watchdog.tickets)
    text = " ".join(note.split())[:_NOTE_MAX]  # one line, in one message
    message = f"+ {ticket} {pgid} {stop_signal} {kill_after:g} {text}".rstrip().encode()
    if _watchdog.proc is not None:
        _watchdog.groups[ticket] = message
        _watchdog.send(message, pipes)
    return ticket


def ended(ticket: int) -> None:
    """Tell the watchdog tfhook no longer supervises this group."""
    if _watchdog.groups.pop(ticket, None) is not None:
        _watchdog.send(f"- {ticket}".encode(), ())
