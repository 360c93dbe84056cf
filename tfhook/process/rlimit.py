"""Open files: tfhook raises its soft limit to the hard one at start, as Go programs do,
and gives every child the soft limit it was started with, as Go does.

A server holds a descriptor per connection: at the usual soft limit of 1,024, a thousand idle
connections left no descriptor for a hook's pipes, and then none for accepting. Children get
the original limit back because programs that use select() break above 1,024 descriptors.

A child inherits the limit in force as it starts, so tfhook sets its own soft limit back to
the original while it spawns a child (`for_child`: a fraction of a millisecond, more on a
busy machine; its pipes made before, one start at a time) when that cannot take a descriptor
from anyone: while the lowest free descriptor is far below the original limit. A child with
a working directory (Popen, which opens descriptors as it starts) never starts under the
lowered limit. Otherwise (more than about 750 connections open at the usual 1,024: see ROOM)
the child starts through util-linux's `prlimit`, which sets the limit and execs the program:
a 1.2 ms exec more per hook, so only then. Not with a `preexec_fn`: that forks the whole
gRPC process, whose fork handlers then run in the child and abort it now and then (measured:
7 of 150 spawns). prlimit passes the environment on byte-exact; /bin/sh (dash), the fallback
where prlimit is missing, drops variables whose names are not shell identifiers
(`TF_VAR_my-token`) and adds OLDPWD.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import threading
from collections.abc import Iterator, Sequence

import structlog

log = structlog.get_logger("tfhook.server")
# Where Debian (util-linux, an essential package) and others install prlimit: a fixed
# list, not PATH, so what runs before every child does not depend on tfhook's environment.
PRLIMIT = ("/usr/bin/prlimit", "/bin/prlimit")
SHELL = "/bin/sh"
_SET_AND_EXEC = 'ulimit -S -n "$0" && exec "$@"'
# What goes before a child's argv to give it the soft limit tfhook was started with, once
# tfhook has raised its own; None until then (or when nothing was raised: children then
# inherit ours unchanged, and start directly).
_prefix: list[str] | None = None
_limits: tuple[int, int] = (0, 0)  # (the original soft limit, ours) once raised
# Descriptors that must stay free below the original limit while it is in force for a
# start: what other threads (gRPC accepting, the history) may open meanwhile. A start can
# hold it for milliseconds on a busy machine (until the child has exec'd): a quarter of
# the usual 1,024.
ROOM = 256
_lowered = threading.Lock()  # one start at a time (see `starting`)


def raise_open_files() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    global _prefix
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    prefix = launcher(soft)
    if soft == hard or hard == resource.RLIM_INFINITY or prefix is None:
        return soft  # (no launcher: children could not get the original back, so keep it)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError) as exc:  # a hard limit the kernel will not grant (nr_open)
        log.warning("cannot raise the open files limit", soft=soft, hard=hard, error=str(exc))
        return soft
    global _limits
    _prefix, _limits = prefix, (soft, hard)
    return hard


@contextlib.contextmanager
def starting() -> Iterator[None]:
    """Hold while a child starts, from its pipes to its spawn, once tfhook has raised its
    limit: one start at a time, so that no start takes a descriptor (its pipes, a look for
    the lowest free one) while another holds tfhook's own limit lowered (`for_child`)."""
    if _prefix is None:
        yield
        return
    with _lowered:
        yield


@contextlib.contextmanager
def for_child(argv: Sequence[str], cwd: str | os.PathLike[str] | None,
              fds: Sequence[int] = ()) -> Iterator[list[str]]:
    """Within `starting`, once the child's pipes (`fds`) are made: the argv that starts
    `argv` with the original soft limit. When tfhook has room, its own soft limit is the
    original within (a child spawned then inherits it; nothing within may open a descriptor)
    and the argv is `argv`; else it is the launcher's (see `child_argv`)."""
    if _prefix is None:
        yield list(argv)
        return
    original, raised = _limits
    # (`fds` too: a descriptor at or above the limit in force cannot be dup2'd to 0-2.)
    if max(_lowest_free(), *fds) + ROOM >= original:
        yield child_argv(argv, cwd)
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (original, raised))
    except (OSError, ValueError):  # the limits changed from outside: the launcher's way
        lowered = False
    else:
        lowered = True
    try:
        yield list(argv) if lowered else child_argv(argv, cwd)
    finally:
        if lowered:
            with contextlib.suppress(OSError, ValueError):  # (as above: it stays lower)
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, raised))


def _lowest_free() -> int:
    """The lowest free descriptor: the one the next open gets."""
    fd = os.open("/", os.O_RDONLY | os.O_CLOEXEC)
    os.close(fd)
    return fd


def launcher(soft: int) -> list[str] | None:
    """The argv prefix that sets the soft limit to `soft` and execs the rest: prlimit (it
    sets only the soft limit and keeps the environment as it is), else /bin/sh, else None."""
    for path in PRLIMIT:
        if os.access(path, os.X_OK):
            return [path, f"--nofile={soft}:", "--"]
    if os.access(SHELL, os.X_OK):
        return [SHELL, "-c", _SET_AND_EXEC, str(soft)]
    return None


def child_argv(argv: Sequence[str], cwd: str | os.PathLike[str] | None) -> list[str]:
    """The argv that runs `argv` with the original soft limit; an OSError says, as starting
    it directly would, why it cannot start (the launcher would only exit 127)."""
    if _prefix is None:
        return list(argv)
    _check_exec(argv[0], cwd)
    return [*_prefix, *argv]


def _check_exec(program: str, cwd: str | os.PathLike[str] | None) -> None:
    """Raise the OSError exec would for `program` (a path; a bare name is left to the
    launcher, which searches PATH as exec would)."""
    if cwd is not None and not os.path.isdir(cwd):
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), str(cwd))
    if "/" not in program:
        return
    path = os.path.join(cwd, program) if cwd is not None else program
    if not os.path.exists(path):
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), program)
    with open(path, "rb") as file:
        first = file.readline(512)
    if first.startswith(b"#!"):
        words = first[2:].strip().split()
        if not words or not os.access(words[0], os.X_OK):
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    elif not first.startswith(b"\x7fELF"):
        # exec refuses it; the shell (and execvp in prlimit) would run it as a script instead.
        raise OSError(errno.ENOEXEC, os.strerror(errno.ENOEXEC), program)
