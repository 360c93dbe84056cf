"""Settings: built once from the command line (and --config), frozen, passed down."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tfhook.errors import UserError
from tfhook.model import Phase, Result

DEFAULT_ADDR = "unix:autoscaler-handlers-local-exec.sock"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def environment() -> dict[str, str]:
    """A copy of the process environment (the only place tfhook reads it)."""
    return dict(os.environ)


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the history lives by default: `$XDG_STATE_HOME/tfhook`, else `~/.local/state/tfhook`."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/state")
    return Path(base) / "tfhook"


def parse_duration(text: str, *, flag: str = "duration") -> float:
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
        raise UserError(f"{flag}: invalid duration {text!r} (write it like 500ms, 30s, 15m or 1h)")
    return total


def parse_age(text: str, *, flag: str) -> float:
    """Seconds from a duration or a number of days (`30d`), for history ages."""
    days = text.strip().removesuffix("d")
    if days != text.strip() and re.fullmatch(r"\d+(?:\.\d+)?", days):
        return float(days) * 86400.0
    return parse_duration(text, flag=flag)


def positive_duration(text: str, *, flag: str) -> float:
    """A duration that must be more than zero (a zero timeout would fail every call)."""
    seconds = parse_duration(text, flag=flag)
    if seconds <= 0:
        raise UserError(f"{flag}: must be more than 0 (got {text!r})")
    return seconds


def parse_socket_mode(text: str) -> int:
    """An octal file mode such as 0600 or 660."""
    try:
        mode = int(text, 8)
    except ValueError:
        raise UserError(f"--socket-mode: {text!r} is not an octal mode like 0600") from None
    if not 0 <= mode <= 0o777:
        raise UserError(f"--socket-mode: {text!r} is out of range (0000..0777)")
    return mode


@dataclass(frozen=True, slots=True)
class Exporter:
    """The reference handler config's exporter_config: a Prometheus endpoint."""

    enabled: bool = False
    address: str = ":8081"


@dataclass(frozen=True, slots=True)
class TerraformSettings:
    """Terraform mode (`serve --tf-dir`)."""

    tf_dir: Path
    engine: str = "auto"  # auto | embedded | a path to a terraform/tofu binary
    on_result: frozenset[Result] = frozenset({Result.CREATED, Result.UPDATED, Result.DELETED})
    var_files: tuple[Path, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    init: bool = False
    lock_timeout: float = 60.0
    target_from_event: bool = False
    on_failure: str = "fail"  # fail | warn
    refresh_on_start: bool = False
    reconcile_every: float | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything `serve` needs; made once in cli.py."""

    addr: str = DEFAULT_ADDR
    handler_type: Phase = Phase.POST_HANDLE
    executable: Path | None = None
    terraform: TerraformSettings | None = None
    timeout: float = 15 * 60.0
    kill_after: float = 10.0
    grace: float = 30.0
    socket_mode: int = 0o600
    log_format: str = "logfmt"
    log_level: str = "info"
    exporter: Exporter = field(default_factory=Exporter)
    max_log_bytes: int = 3 * 1024 * 1024
    env: Mapping[str, str] = field(default_factory=environment)
    state_dir: Path | None = None  # None: no history (`serve` always sets one)
    history_keep: float = 30 * 86400.0
    history_requests: bool = False

    @property
    def mode(self) -> str:
        return "terraform" if self.terraform is not None else "executable"


GENERIC_ONLY = ("--handler-type",)


def check_mode_flags(*, terraform_mode: bool, given: Mapping[str, bool]) -> None:
    """Refuse flags of the other mode: silently ignoring them would hide a mistake."""
    used = [flag for flag, was_given in given.items() if was_given]
    if terraform_mode:
        wrong = [flag for flag in used if flag in GENERIC_ONLY]
        if wrong:
            raise UserError(f"{', '.join(wrong)}: only for --executable-path; Terraform mode "
                            "refreshes after PostHandle (choose results with --on-result)")
        return
    wrong = [flag for flag in used if flag not in GENERIC_ONLY]
    if wrong:
        raise UserError(f"{', '.join(wrong)}: only for Terraform mode (--tf-dir)")


def resolve_executable(path: str, cwd: Path | None = None) -> Path:
    """Resolve --executable-path against the working directory (never $PATH) and check it."""
    resolved = ((cwd or Path.cwd()) / path).absolute()
    if not resolved.exists():
        raise UserError(f"--executable-path: {resolved} does not exist")
    if resolved.is_dir():
        raise UserError(f"--executable-path: {resolved} is a directory, not an executable")
    if not os.access(resolved, os.X_OK):
        raise UserError(f"--executable-path: {resolved} is not executable (chmod +x it)")
    problem = interpreter_problem(resolved)
    if problem:
        raise UserError(f"--executable-path: {resolved}: {problem}")
    return resolved


def interpreter_problem(script: Path) -> str | None:
    """What is wrong with a script's #! line, or None (also for binaries)."""
    try:
        with script.open("rb") as file:
            first = file.readline(512)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if not first.startswith(b"#!"):
        return None
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
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"--config: cannot read {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"--config: {path} is not valid YAML: {first}") from None
    if data is None:
        return Exporter()
    _only_keys(data, {"exporter_config"}, f"{path}")
    section = data.get("exporter_config") or {}
    _only_keys(section, {"enabled", "address"}, f"{path}: exporter_config")
    enabled = section.get("enabled", False)
    address = section.get("address", ":8081")
    if not isinstance(enabled, bool):
        raise UserError(f"--config: {path}: exporter_config.enabled must be true or false")
    port = address.rpartition(":")[2] if isinstance(address, str) and ":" in address else ""
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise UserError(f"--config: {path}: exporter_config.address must be like ':8081' "
                        f"(a port from 1 to 65535), not {address!r}")
    return Exporter(enabled=enabled, address=address)


def _only_keys(data: Any, allowed: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise UserError(f"--config: {where} must be a mapping")
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise UserError(
            f"--config: {where}: unknown key {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


_RESULT_NAMES = {r.name.lower().replace("_", "-"): r for r in Result}


def terraform_settings(
    tf_dir: Path,
    *,
    engine: str,
    on_result: list[str],
    var_files: list[Path],
    variables: list[str],
    init: bool,
    lock_timeout: str,
    target_from_event: bool,
    on_failure: str,
    refresh_on_start: bool,
    reconcile_every: str | None,
) -> TerraformSettings:
    """Validate Terraform-mode flags into TerraformSettings (directory checks come later)."""
    results = set()
    for name in on_result:
        key = name.strip().lower().replace("_", "-")
        if key not in _RESULT_NAMES:
            raise UserError(f"--on-result: {name!r} is not one of {', '.join(_RESULT_NAMES)}")
        results.add(_RESULT_NAMES[key])
    pairs = []
    for item in variables:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--var: {item!r} must be KEY=VALUE")
        pairs.append((key, value))
    for path in var_files:
        if not path.is_file():
            raise UserError(f"--var-file: {path} is not a readable file")
    if on_failure not in ("fail", "warn"):
        raise UserError(f"--on-failure: {on_failure!r} is not one of fail, warn")
    defaults = TerraformSettings(tf_dir=tf_dir)
    return TerraformSettings(
        tf_dir=tf_dir.absolute(),
        engine=engine,
        on_result=frozenset(results) or defaults.on_result,
        var_files=tuple(p.absolute() for p in var_files),
        variables=tuple(pairs),
        init=init,
        lock_timeout=parse_duration(lock_timeout, flag="--lock-timeout"),
        target_from_event=target_from_event,
        on_failure=on_failure,
        refresh_on_start=refresh_on_start,
        reconcile_every=(
            parse_duration(reconcile_every, flag="--reconcile-every") if reconcile_every else None
        ),
    )
