"""The watchdog: stops tfhook's children when tfhook dies, even by SIGKILL (#12).

Run as `python -S -I _watchdog.py` (standard library only, no site: it starts in a few
milliseconds) with its standard input one end of a socket pair whose other end only
tfhook holds. tfhook sends one message per child it starts, with the read ends of the
child's stdout and stderr pipes, and one when it no longer supervises that child's
process group:

    + TICKET PGID STOP_SIGNAL KILL_AFTER   (and two file descriptors)
    - TICKET

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

import os
import signal
import socket
import time

_POLL = 0.05  # how often a stopping group is looked at
# ticket: pgid, stop signal, kill_after, fds
Groups = dict[int, tuple[int, int, float, list[int]]]


def _follow(sock: socket.socket) -> Groups:
    """Follow tfhook's messages until end of input; the groups still listed then."""
    groups: Groups = {}
    while True:
        data, fds, _, _ = socket.recv_fds(sock, 256, 4)
        if not data:
            return groups
        match data.split():
            case [b"+", ticket, pgid, sig, kill_after]:
                _close(groups.pop(int(ticket), (0, 0, 0.0, []))[3])
                groups[int(ticket)] = (int(pgid), int(sig), float(kill_after), fds)
            case [b"-", ticket]:
                _close(groups.pop(int(ticket), (0, 0, 0.0, []))[3] + fds)
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
    left = {pgid: start + kill_after for pgid, sig, kill_after, _ in groups.values()
            if _signal(pgid, sig)}
    while left:
        time.sleep(_POLL)
        now = time.monotonic()
        for pgid, kill_at in list(left.items()):
            if now >= kill_at:
                _signal(pgid, signal.SIGKILL)
                del left[pgid]
            elif not _signal(pgid, 0):
                del left[pgid]


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _stop(_follow(socket.socket(fileno=0)))


if __name__ == "__main__":
    main()
