"""Inputs of `tfhook init`, checked, turned into the templates' context."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tfhook import __version__
from tfhook.config import address
from tfhook.config import options as option_table
from tfhook.config.settings import environment, parse_duration
from tfhook.core import names
from tfhook.core.model import Phase
from tfhook.errors import UserError
from tfhook.scaffold import unit

HANDLERS_FILE = "autoscaler-handlers.yaml"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# TimeoutStopSec beyond the stop steps (option_table.stop_steps): tfhook's own exit after
# its hooks are gone.
_STOP_MARGIN = 30.0


@dataclass(frozen=True, slots=True)
class Options:
    """What `tfhook init` was asked for, before validation."""

    directory: Path
    kind: str
    handler_type: str = Phase.POST_HANDLE.value
    tf_dir: Path | None = None
    name: str = "tfhook"
    addr: str | None = None
    force: bool = False
    dry_run: bool = False
    tfhook_path: Path | None = None  # what the unit runs; default: the tfhook on PATH



@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of hook `tfhook init` can write."""

    name: str
    summary: str
    template: str
    hook_file: str
    phases: tuple[Phase, ...] = tuple(Phase)
    helper: bool = False  # also write tfhook/hook.py next to the hook as HELPER_FILE
    routes: bool = False  # the "hook" is a routes file for `tfhook serve --routes`


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("terraform",
             "tfhook's built-in Terraform mode: a routes file refreshing the Terraform "
             "directory after a change (no script; add routes for more directories or hooks)",
             "terraform/tfhook.yaml.j2", "tfhook.yaml", phases=(Phase.POST_HANDLE,), routes=True),
        Kind("terraform-refresh",
             "the documented pattern: after a change, terraform plan -refresh-only, then apply "
             "of that saved plan "
             "(standalone Python script, no jq)",
             "terraform-refresh/refresh.py.j2", "refresh.py", phases=(Phase.POST_HANDLE,)),
        Kind("shell", "a bash hook that reads the request with jq",
             "shell/hook.sh.j2", "hook.sh"),
        Kind("python", "a Python hook using tfhook's typed request helper (any python3)",
             "python/hook.py.j2", "hook.py", helper=True),
    )
}


def context(options: Options, kind: Kind) -> dict[str, Any]:
    phase = _phase(options.handler_type, kind)
    name = _name(options.name)
    directory = _path(options.directory, "DIR")
    if directory.exists() and not directory.is_dir():
        raise UserError(f"DIR: {directory} exists and is not a directory")
    addr = options.addr or f"unix:/run/tfhook/{name}.sock"
    endpoint, socket = _address(addr)
    hook = directory / kind.hook_file
    tfhook_argv = _tfhook_argv(options.tfhook_path)
    stop = {option: parse_duration(option.default) for option in option_table.stop_steps()}
    tf_dir = _tf_dir(options.tf_dir, kind)
    return {
        "version": __version__, "kind": kind.name, "name": name, "handler_type": phase.value,
        "rpc": phase.rpc, "directory": str(directory), "hook": str(hook),
        "readme_uri": (directory / "README.md").as_uri(),
        "hook_file": kind.hook_file, "addr": addr, "endpoint": endpoint,
        "runtime_directory": _runtime_directory(socket), "unit_file": f"{name}.service",
        "handlers_file": HANDLERS_FILE, "tf_dir": tf_dir, "routes": kind.routes,
        "route_dir": _route_dir(tf_dir, directory), "tfhook_argv": tfhook_argv,
        "serve_argv": [*tfhook_argv, *_serve_args(kind, hook, phase, addr),
                       *(text for option, took in stop.items() for text in (option.cli, _seconds(took))),
                       *unit.state_args()],
        **unit.context(tfhook_argv, str(directory), tf_dir),
        **{option.key: _seconds(took) for option, took in stop.items()},
        "stop_timeout": _seconds(sum(stop.values()) + _STOP_MARGIN),
        "local_serve": [*tfhook_argv, *_serve_args(kind, hook, phase,
                                                   f"unix:/tmp/tfhook-{name}.sock")],
        "local_socket": f"/tmp/tfhook-{name}.sock",
        "sample_request": _sample_request(phase),
        "route_keys": route_keys(),
    }


def route_keys() -> list[tuple[str, str, str]]:
    """Every key a route may have, from the option table: (field, default, help), for the
    routes file's comments."""
    keys = []
    for option in option_table.OPTIONS:
        if option.route:
            default = "" if option.default in (None, False, ()) else str(option.default)
            keys.append((option.route, default, option.help))
    return keys


def warnings(context: dict[str, Any]) -> list[str]:
    """What to tell the user about inputs that work now but not for the hook later."""
    found = [] if context["tfhook_argv"] != ["tfhook"] else [
        "no installed tfhook on PATH (a development checkout's does not count: it goes away "
        "with the checkout): the unit runs `tfhook` from systemd's search path (/usr/local/bin, "
        "/usr/bin); install tfhook there (see its README: pipx install) or give --tfhook-path"]
    return found + _tf_dir_warnings(context)


def _tf_dir_warnings(context: dict[str, Any]) -> list[str]:
    if context["kind"] not in ("terraform", "terraform-refresh"):
        return []
    tf_dir = context["tf_dir"] or context["directory"]
    if _has_tf_files(Path(tf_dir)):
        return []
    problem = (f"{tf_dir} has no .tf files: the hook runs terraform there and fails on every "
               "event until it has some")
    if context["tf_dir"]:
        return [f"--tf-dir: {problem}"]
    return [f"{problem} (add them, or point --tf-dir at your Terraform directory)"]


def _has_tf_files(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(entry.name.endswith((".tf", ".tf.json")) for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True  # unreadable to us, perhaps not to the service: nothing to warn about


def _seconds(seconds: float) -> str:
    return f"{seconds:g}s"


def _phase(value: str, kind: Kind) -> Phase:
    phase = names.parse_phase(value)
    if phase is None:
        raise UserError(f"--handler-type: {value!r} is not {names.phase_choices()}")
    if phase not in kind.phases:
        allowed = ", ".join(phase.value for phase in kind.phases)
        raise UserError(f"--handler-type: --kind {kind.name} works only as {allowed}")
    return phase


def _name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(
            f"--name: {name!r} must be 1-64 letters, digits, '.', '_' or '-' and start with a "
            "letter or digit (it names the systemd unit and the Core's handler)"
        )
    return name


def _plain(text: str, flag: str) -> str:
    # Paths and addresses end up in scripts, YAML and a unit file: one line each.
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise UserError(f"{flag}: {text!r} holds control characters")
    return text


def _path(path: Path, flag: str) -> Path:
    return Path(os.path.abspath(_plain(str(path), flag)))


def _tf_dir(tf_dir: Path | None, kind: Kind) -> str | None:
    if tf_dir is None:
        return None
    if kind.name not in ("terraform", "terraform-refresh"):
        raise UserError(f"--tf-dir: only --kind terraform and terraform-refresh use it, "
                        f"not {kind.name}")
    path = _path(tf_dir, "--tf-dir")
    if not path.is_dir():
        raise UserError(f"--tf-dir: {path} is not a directory")
    return str(path)


def _address(addr: str) -> tuple[str, PurePosixPath | None]:
    """The Core's endpoint for a listen address, and the socket file, if any."""
    parsed = address.parse(addr)
    if parsed.relative:
        raise UserError(f"--addr: {addr!r}: give an absolute socket path (unix:/run/...), "
                        "so that the service and the Core agree on it")
    endpoint = addr if parsed.host is None else parsed.dial_target()
    return endpoint, None if parsed.path is None else PurePosixPath(parsed.path)


def _runtime_directory(socket: PurePosixPath | None) -> str:
    """The RuntimeDirectory= systemd should create for a socket under /run, or ""."""
    run = PurePosixPath("/run")
    if socket is None or run not in socket.parents or socket.parent == run:
        return ""
    return str(socket.parent.relative_to(run))


def _serve_args(kind: Kind, hook: Path, phase: Phase, addr: str) -> list[str]:
    if kind.routes:
        return ["serve", "--routes", str(hook), "--addr", addr]
    # --payload-argv none: the request (passwords, SSH keys) never shows in `ps`; the hooks
    # written beside the unit read standard input.
    return ["serve", "--executable-path", str(hook), "--handler-type", phase.value,
            "--payload-argv", "none", "--addr", addr]


def _route_dir(tf_dir: str | None, directory: Path) -> str:
    """The Terraform directory as the routes file names it: relative to the file if inside."""
    if tf_dir is None:
        return "."
    return os.path.relpath(tf_dir, directory) if Path(tf_dir).is_relative_to(directory) \
        else tf_dir


def _tfhook_argv(tfhook_path: Path | None) -> list[str]:
    """How the unit runs tfhook: --tfhook-path, else the first `tfhook` on PATH that is not
    inside a development checkout, else the running one (outside a checkout), else plain
    `tfhook` (systemd searches its own PATH; init warns).

    Never the tfhook of a development venv unless --tfhook-path asks for it: scaffolds must
    keep working when the checkout and its .venv are gone.
    """
    if tfhook_path is not None:
        return [str(_path(tfhook_path, "--tfhook-path"))]
    checkout = _checkout()
    for directory in environment().get("PATH", "").split(os.pathsep):
        found = shutil.which("tfhook", path=directory) if directory else None
        if found and not (checkout and Path(found).resolve().is_relative_to(checkout)):
            return [os.path.abspath(found)]
    # None on PATH: the tfhook running now (a venv's script, called by its path), since a
    # bare `tfhook` that systemd cannot find fails `systemd-analyze verify`.
    running = Path(sys.argv[0]) if Path(sys.argv[0]).name == "tfhook" \
        else Path(sys.executable).parent / "tfhook"
    if running.is_file() and os.access(running, os.X_OK) \
            and not (checkout and running.resolve().is_relative_to(checkout)):
        return [os.path.abspath(running)]
    return ["tfhook"]


def _checkout() -> Path | None:
    """The source checkout this tfhook runs from (an editable install), or None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def _sample_request(phase: Phase) -> str:
    """A test request for grpcurl, in protobuf's JSON mapping (enums by name)."""
    elb = {"elb": {"id": "113300000001", "region": "is1", "plan": 400, "name": "example"}}
    fields: dict[str, Any] = {"source": "test", "resource_name": "elb",
                              "scaling_job_id": "test-1"}
    if phase is Phase.POST_HANDLE:
        fields |= {"result": "UPDATED", "current": elb}
    else:
        fields |= {"instruction": "UPDATE", "desired": elb}
    return json.dumps(fields, separators=(",", ":"))
