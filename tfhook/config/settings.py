"""Settings: built once from the command line (and the handler config file), frozen,
passed down. Knows no flag names: callers say how a value is named in messages."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfhook.config import address, yamlfile
from tfhook.config.address import check_port
from tfhook.config.env import HISTORY_URL
from tfhook.config.env import environment as environment  # `tfhook terraform` reads it without config
from tfhook.core.hooks import Hook
from tfhook.core.hooks import Limits as Limits  # config.Limits: the limits of routes that set none
from tfhook.errors import UserError, did_you_mean

DEFAULT_ADDR = "unix:autoscaler-handlers-local-exec.sock"
HISTORY_ENV = HISTORY_URL  # the history's PostgreSQL URL when no flag gives one (#24)
DEFAULT_SOCKET_MODE = 0o600
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
ELF_MAGIC = b"\x7fELF"


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the history lives by default: `$XDG_STATE_HOME/tfhook`, else `~/.local/state/tfhook`."""
    env = environment() if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/state")
    return Path(base) / "tfhook"


def parse_duration(text: str, *, name: str = "") -> float:
    # `name` is how the caller names the value in messages (a flag, a routes file field);
    # without one the message is the problem alone, for a caller that names it itself.
    """Seconds from a Go-style duration: `500ms`, `30s`, `15m`, `1h`, `1m30s`, or `0`."""
    text = text.strip()
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise UserError(f"{_named(name)}invalid duration {text!r} (write it like 500ms, 30s, 15m or 1h)")
    return total


def _named(name: str) -> str:
    return f"{name}: " if name else ""


def parse_age(text: str, *, name: str = "") -> float:
    """Seconds from a duration or a number of days (`30d`), for history ages."""
    days = text.strip().removesuffix("d")
    if days != text.strip() and re.fullmatch(r"\d+(?:\.\d+)?", days):
        return float(days) * 86400.0
    return parse_duration(text, name=name)


def positive_duration(text: str, *, name: str = "") -> float:
    """A duration that must be more than zero (a zero timeout would fail every call)."""
    seconds = parse_duration(text, name=name)
    if seconds <= 0:
        raise UserError(f"{_named(name)}must be more than 0 (got {text!r})")
    return seconds


def socket_mode(addr: str, text: str | None) -> int:
    """--socket-mode for `addr`: 0600 when not given; refused for an abstract socket, which
    has no file a mode could guard (ignoring it would promise a protection that is not there)."""
    if text is None:
        return DEFAULT_SOCKET_MODE
    mode = parse_socket_mode(text)
    try:
        parsed = address.parse(addr)
    except UserError:
        return mode  # --addr's own error is reported by the server, under its own name
    if address.abstract(parsed):
        raise UserError(f"an abstract socket ({addr}) has no file, so no mode can restrict who "
                        "connects: listen on unix:PATH to use --socket-mode")
    return mode


_SIZE = re.compile(r"(\d+)\s*(KiB|MiB|GiB)")
_SIZE_UNITS = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def parse_size(text: str) -> int:
    """Bytes from a size such as 512KiB, 64MiB or 1GiB (at least 1 MiB)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise UserError(f"invalid size {text!r} (write it like 64MiB or 1GiB)")
    size = int(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if size < 1024**2:
        raise UserError(f"must be at least 1MiB (got {text!r})")
    return size


def parse_socket_mode(text: str) -> int:
    """An octal file mode such as 0600 or 660."""
    try:
        mode = int(text, 8)
    except ValueError:
        raise UserError(f"{text!r} is not an octal mode like 0600") from None
    if not 0 <= mode <= 0o777:
        raise UserError(f"{text!r} is out of range (0000..0777)")
    return mode


@dataclass(frozen=True, slots=True)
class Exporter:
    """The reference handler config's exporter_config: a Prometheus endpoint."""

    enabled: bool = False
    address: str = ":8081"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything `serve` needs: the hooks and the server-wide settings; made once in cli/app.py.

    `routes_file` is where the hooks came from (re-read on SIGHUP), None when they came
    from the command line; `limits` are those of its routes that set none.
    `announce_unmatched` answers an event no hook takes with one IGNORED; false keeps the
    reference handler's empty stream.
    """

    addr: str = DEFAULT_ADDR
    hooks: tuple[Hook, ...] = ()
    routes_file: Path | None = None
    limits: Limits = field(default_factory=lambda: Limits())
    announce_unmatched: bool = True
    grace: float = 30.0
    socket_mode: int = DEFAULT_SOCKET_MODE
    admin_addr: str | None = None  # a unix socket of its own for the admin service (#21)
    log_format: str = "logfmt"
    log_level: str = "info"
    exporter: Exporter = field(default_factory=Exporter)
    max_log_bytes: int = 3 * 1024 * 1024
    env: Mapping[str, str] = field(default_factory=environment)
    state_dir: Path | None = None  # None: no history (`serve` always sets one)
    history_keep: float = 30 * 86400.0
    history_requests: bool = False
    history_url: str | None = None  # PostgreSQL for the history (#24); None: SQLite in state_dir
    snapshots_keep: int = 50  # states saved before applies, per directory (0: none)
    held_keep: float = 7 * 86400.0  # a held plan no one decided is discarded after this
    max_concurrency: int = field(default_factory=lambda: default_concurrency())
    max_connection_idle: float = 300.0  # 0: idle connections are never closed
    max_conversion_memory: int = 64 * 1024 * 1024  # bytes requests in conversion may take
    event_loop: str = "auto"  # auto | asyncio | uvloop (#25: server/loops.py)
    notify_urls: tuple[str, ...] = ()  # server-wide notification URLs, from a file (#23)

    @property
    def history_dir(self) -> Path | None:
        """Where the history is kept; None when it is not (no state directory, or none kept)."""
        return self.state_dir if self.state_dir is not None and self.history_keep > 0 else None

    @property
    def snapshot_root(self) -> Path | None:
        """Where snapshots are kept (the state directory's snapshots/ is theirs); None when
        none are taken (no state directory, or a count of 0)."""
        return self.state_dir if self.snapshots_keep > 0 else None

    @property
    def held_dir(self) -> Path | None:
        """Where held plans are kept (#21); None without a history (a held run is a run-N)."""
        return None if self.history_dir is None else self.history_dir / "held"


# Hooks running at once, per CPU, unless --max-concurrency says: hooks mostly wait on
# networks and clouds, so a few per CPU keep the machine busy without drowning it.
CONCURRENCY_PER_CPU = 4


def default_concurrency() -> int:
    """CONCURRENCY_PER_CPU times the CPUs this process may run on."""
    return CONCURRENCY_PER_CPU * max(len(os.sched_getaffinity(0)), 1)


def parse_concurrency(text: str) -> int:
    """--max-concurrency: a whole number of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise UserError(f"must be a whole number of at least 1 (got {text!r})")
    return int(text)


def resolve_executable(path: str, cwd: Path | None = None) -> Path:
    """Resolve a hook's path against `cwd` (never $PATH) and check it can be run."""
    resolved = ((cwd or Path.cwd()) / path).absolute()
    problem = executable_problem(resolved)
    if problem:
        raise UserError(problem)
    return resolved


def executable_problem(path: Path) -> str | None:
    """What keeps `path` from running as a hook, or None."""
    if not path.exists():
        return f"{path} does not exist"
    if path.is_dir():
        return f"{path} is a directory, not an executable"
    if not os.access(path, os.X_OK):
        return f"{path} is not executable (chmod +x it)"
    problem = interpreter_problem(path)
    return f"{path}: {problem}" if problem else None


def interpreter_problem(script: Path) -> str | None:
    """What is wrong with a script's #! line, or None (also for binaries)."""
    try:
        with script.open("rb") as file:
            first = file.readline(512)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if not first.startswith(b"#!"):
        # Without a #! line the kernel runs only a binary (ELF): anything else would fail
        # every call with "exec format error".
        return None if first.startswith(ELF_MAGIC) else (
            "is neither a script starting with #! nor a binary this machine can run")
    words = first[2:].rstrip(b"\n").split()
    if not words:
        return "its #! line names no interpreter"
    interpreter = words[0].decode("utf-8", "replace")
    if first.rstrip(b"\n").endswith(b"\r"):
        return "its #! line ends in a carriage return (Windows line endings): convert it to LF"
    if not os.path.isfile(interpreter) or not os.access(interpreter, os.X_OK):
        return f"its #! interpreter {interpreter} does not exist or is not executable"
    return None


def load_handler_config(path: Path) -> Exporter:
    """Read the reference handler's YAML config: only `exporter_config` is allowed."""
    data: Any = yamlfile.read(path)  # (UserError: one line saying why)
    if data is None:
        return Exporter()
    _only_keys(data, {"exporter_config"}, f"{path}")
    section = data.get("exporter_config") or {}
    _only_keys(section, {"enabled", "address"}, f"{path}: exporter_config")
    enabled = section.get("enabled", False)
    address = section.get("address", ":8081")
    if not isinstance(enabled, bool):
        raise UserError(f"{path}: exporter_config.enabled must be true or false")
    port = address.rpartition(":")[2] if isinstance(address, str) and ":" in address else ""
    if not port.isdigit():
        raise UserError(f"{path}: exporter_config.address must be like ':8081' "
                        f"(a port from 1 to 65535), not {address!r}")
    check_port(port, f"{path}: exporter_config.address {address!r}", lowest=1)
    return Exporter(enabled=enabled, address=address)


def _only_keys(data: Any, allowed: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise UserError(f"{where} must be a mapping")
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise UserError(
            f"{where}: unknown key {', '.join(unknown)} "
            f"({did_you_mean(unknown[0], allowed)}allowed: {', '.join(sorted(allowed))})"
        )
