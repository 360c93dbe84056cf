"""The watchdog: stops tfhook's children when tfhook dies, even by SIGKILL (#12).

Run as `python -S -I watchdog.py` (standard library only, no site: it starts in a few
milliseconds) with its standard input one end of a socket pair whose other end only
tfhook holds. tfhook sends one message per child it starts, with the read ends of the
child's stdout and stderr pipes, and one when it no longer supervises that child's
process group:

    + TICKET PGID STOP_SIGNAL KILL_AFTER [NOTE]   (and two file descriptors)
    - TICKET

NOTE, the rest of the line, is what a SIGKILL may leave behind (a Terraform's state lock,
its directory and the command that checks it). When a group has to be killed, the watchdog
writes one line to its standard error, tfhook's (the journal), with the note.

End of input means tfhook is gone: the kernel closed its end, whatever killed it. Each
group still listed then gets its stop signal (SIGINT for Terraform, which stops and
releases its state lock; SIGTERM for hooks), and SIGKILL once its kill_after has passed
if anything in it is left. Meanwhile the watchdog holds the read ends of the group's
output pipes, so what a child prints as it stops (Terraform does; a shell reports a child
it lost) is not a broken pipe that kills it first. After a clean stop the list is empty
and the watchdog just exits. It lives in a process group of its own and ignores the
signals a terminal or a service manager sends to tfhook: it ends when tfhook does.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import time

_POLL = 0.05  # how often a stopping group is looked at
# While tfhook starts children, their messages wait in the socket and are read together
# every _LINGER_MS: a wake-up per message (two per child) took the CPU from tfhook's call
# as it started its child (#25). End of input (tfhook gone) still wakes the watchdog at
# once (POLLHUP), and every message sent before it is read first, in order. After _QUIET
# lingers with nothing to read, the next message wakes it again: an idle tfhook costs none.
_LINGER_MS = 20  # (the socket holds 278 messages: 139 children)
_QUIET = 50
_MESSAGE = 8192  # the longest message (a note names a directory)
# ticket: pgid, stop signal, kill_after, fds, note
Groups = dict[int, tuple[int, int, float, list[int], str]]
_NONE: tuple[int, int, float, list[int], str] = (0, 0, 0.0, [], "")


def _follow(sock: socket.socket) -> Groups:
    """Follow tfhook's messages until end of input; the groups still listed then."""
    groups: Groups = {}
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    quiet = _QUIET
    while True:
        poller.modify(sock, select.POLLIN if quiet >= _QUIET else 0)  # (POLLHUP: always)
        poller.poll(None if quiet >= _QUIET else _LINGER_MS)
        quiet += 1
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(sock, _MESSAGE, 4, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if not data:
                return groups
            quiet = 0
            _apply(groups, data, fds)


def _apply(groups: Groups, data: bytes, fds: list[int]) -> None:
    """One message: a group listed (with its pipes' read ends), or let go."""
    match data.split(maxsplit=5):
        case [b"+", ticket, pgid, sig, kill_after, *note]:
            _close(groups.pop(int(ticket), _NONE)[3])
            groups[int(ticket)] = (int(pgid), int(sig), float(kill_after), fds,
                                   b"".join(note).decode("utf-8", "replace"))
        case [b"-", ticket]:
            _close(groups.pop(int(ticket), _NONE)[3] + fds)
        case _:
            _close(fds)


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _signal(pgid: int, sig: int) -> bool:
    """Signal a group; False once nothing is left in it."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):  # gone (its id maybe someone else's)
        return False
    return True


def _stop(groups: Groups) -> None:
    """Stop signal to each group, SIGKILL to what is left of it after its kill_after."""
    start = time.monotonic()
    left = {pgid: (start + kill_after, kill_after, note)
            for pgid, sig, kill_after, _, note in groups.values() if _signal(pgid, sig)}
    while left:
        time.sleep(_POLL)
        now = time.monotonic()
        for pgid, (kill_at, kill_after, note) in list(left.items()):
            if now >= kill_at:
                if _signal(pgid, signal.SIGKILL):
                    _killed(pgid, kill_after, note)
                del left[pgid]
            elif not _signal(pgid, 0):
                del left[pgid]


def _killed(pgid: int, kill_after: float, note: str) -> None:
    """One line on standard error (tfhook's: the journal) for a group killed outright."""
    line = (f"tfhook watchdog: tfhook is gone; process group {pgid} did not stop within "
            f"{kill_after:g}s of its stop signal and was killed (SIGKILL)")
    with contextlib.suppress(OSError):  # no standard error left: the kill is what matters
        os.write(2, f"{line}{'; ' + note if note else ''}\n".encode("utf-8", "replace"))


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _stop(_follow(socket.socket(fileno=0)))


if __name__ == "__main__":
    main()
