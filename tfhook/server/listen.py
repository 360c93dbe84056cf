"""Where the server listens: claim the address, bind it, and remove only the socket it made."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import structlog

from tfhook.config import address, options
from tfhook.config.settings import Settings
from tfhook.errors import UserError

log = structlog.get_logger("tfhook.server")


class Listener:
    """The server's address as the option `key` gives it (`--addr`, by default), parsed, and
    the socket file bound there (with the file mode --socket-mode says)."""

    def __init__(self, settings: Settings, key: str = "addr") -> None:
        self.addr = str(getattr(settings, key))
        self.flag = options.BY_KEY[key].cli
        self.address = address.parse(self.addr)
        self.socket_mode = settings.socket_mode
        self._socket_ino: int | None = None

    def bind(self, server: grpc.aio.Server) -> None:
        """Add the address to `server`, or raise UserError saying in one line why not."""
        path = self.address.path
        if path is not None:
            _claim_socket_path(path, self.flag)
        else:
            _refuse_busy(self.address.target, f"{self.flag} {self.addr}")
        private = None if path is None else _private(path)
        target = self.address.target if private is None else f"unix:{private}"
        try:
            with _umask(self.socket_mode):
                port = server.add_insecure_port(target)
            if path is not None and private is not None:
                # gRPC removes the path it bound when it stops, whoever's socket is there
                # by then: it binds a private name, moved into place, so that tfhook alone
                # decides (see remove).
                os.rename(private, path)
        except (RuntimeError, OSError) as exc:
            raise UserError(f"{self.flag} {self.addr}: cannot listen: {exc}") from None
        if port == 0 and path is None:
            raise UserError(f"{self.flag} {self.addr}: cannot listen (address in use?)")
        if path is not None:
            os.chmod(path, self.socket_mode)
            self._socket_ino = os.stat(path).st_ino

    def remove(self) -> None:
        """Remove the socket file bind made, unless another server's has replaced it."""
        path = self.address.path
        if path is None or self._socket_ino is None:
            return
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == self._socket_ino:  # only our own socket
                path.unlink()


def _claim_socket_path(path: Path, flag: str) -> None:
    """Remove a stale socket a dead server left; refuse to steal a live one."""
    if not os.path.lexists(path):
        if not path.parent.is_dir():
            raise UserError(f"{flag}: directory {path.parent} does not exist")
        return
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise UserError(f"{flag}: {path} exists and is not a socket; not replacing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        log.info("removing stale socket", path=str(path))
        path.unlink(missing_ok=True)
        return
    except OSError as exc:
        raise UserError(f"{flag}: cannot check existing socket {path}: {exc}") from None
    finally:
        probe.close()
    raise UserError(f"{flag}: another server is answering on {path}; stop it or choose another")


def _refuse_busy(target: str, named: str) -> None:
    """Refuse an abstract name or TCP port someone listens on, in one clear line.

    gRPC reports it only as "Failed to bind" after printing its own log line.
    """
    if target.startswith("unix-abstract:"):
        candidates: list[tuple[int, str | tuple[Any, ...]]] = [
            (socket.AF_UNIX, "\0" + target[len("unix-abstract:"):])
        ]
    else:
        host, _, port = target.rpartition(":")
        try:
            infos = socket.getaddrinfo(host.strip("[]") or None, int(port),
                                       type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except (OSError, ValueError):
            return  # gRPC reports what it cannot resolve
        candidates = [(info[0], info[4]) for info in infos]
    failures: list[OSError] = []
    for family, sockaddr in candidates:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                if family != socket.AF_UNIX:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"{named}: address already in use") from None
            failures.append(exc)
    if candidates and len(failures) == len(candidates):
        # Nowhere to listen (an address this machine does not have, a privileged port…).
        raise UserError(f"{named}: cannot listen: {failures[0].strerror}")


def _private(path: Path) -> Path:
    """Where gRPC binds a socket before it is moved to `path`: short, this process's own."""
    private = path.parent / f".tfhook-{os.getpid()}.sock"
    if len(str(private).encode()) > address.SUN_PATH_MAX:
        return path  # no room for another name: bind the path itself
    private.unlink(missing_ok=True)  # a dead process with our pid left it
    return private


@contextlib.contextmanager
def _umask(mode: int) -> Iterator[None]:
    old = os.umask(0o777 & ~mode)
    try:
        yield
    finally:
        os.umask(old)
