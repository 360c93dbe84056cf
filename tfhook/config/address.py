"""Listen addresses in the Core's forms: unix:PATH, unix:///ABS, unix-abstract:NAME, HOST:PORT."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from tfhook.errors import UserError

SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes, NUL included
_WILDCARD = ("", "0.0.0.0", "[::]", "::")


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address.

    Attributes:
        target: what gRPC binds or dials.
        path: the socket file (absolute) for filesystem unix sockets, else None.
        relative: the socket path was given relative to the working directory.
        host: the TCP host ("" for the wildcard), or None for unix sockets.
    """

    target: str
    path: Path | None = None
    relative: bool = False
    host: str | None = None

    def dial_target(self) -> str:
        """Where a client on this machine connects (a wildcard TCP host becomes loopback)."""
        if self.host is not None and self.host in _WILDCARD:
            return f"127.0.0.1:{self.target.rpartition(':')[2]}"
        return self.target


def abstract(address: Address) -> bool:
    """Whether the address is an abstract unix socket: it has no file, so no file mode
    guards it, and any user on this machine (in its network namespace) can connect."""
    return address.target.startswith("unix-abstract:")


def exposed(address: Address) -> bool:
    """Whether a TCP address can be reached from other machines (not loopback)."""
    if address.host is None:
        return False
    host = address.host.strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: whatever it resolves to, say so


def parse(addr: str) -> Address:
    """Parse an --addr value; a UserError says what is wrong with it.

    Args:
        addr: `unix:PATH` (relative to the working directory), `unix:///ABS/PATH`,
            `unix-abstract:NAME` or `HOST:PORT`.

    Returns:
        The Address.
    """
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in addr):
        raise UserError(f"--addr {addr!r}: holds control characters")
    if addr.startswith("unix-abstract:"):
        if not addr[len("unix-abstract:"):]:
            raise UserError(f"--addr {addr!r}: the abstract socket needs a name")
        return Address(addr)
    if addr.startswith("unix:"):
        rest = addr[len("unix:"):]
        raw = rest[2:] if rest.startswith("///") else rest
        if not raw:
            raise UserError(f"--addr {addr!r}: the socket needs a path")
        path = Path(raw).absolute()
        if len(str(path).encode()) > SUN_PATH_MAX:
            raise UserError(f"--addr: {path} is longer than a socket path may be "
                            f"({SUN_PATH_MAX} bytes)")
        return Address(f"unix:{path}", path, relative=not raw.startswith("/"))
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(
            f"--addr {addr!r}: use unix:PATH, unix:///ABS/PATH, unix-abstract:NAME or HOST:PORT"
        )
    check_port(port, f"--addr {addr!r}", lowest=0)
    return Address(addr if host else f"[::]:{port}", host=host)


def check_port(port: str, where: str, lowest: int) -> None:
    """Refuse a port (digits) above 65535 or below `lowest`, saying so in one line."""
    if not lowest <= int(port) <= 65535:
        raise UserError(f"{where}: port out of range ({int(port)}; use {lowest} to 65535)")
