"""`tfhook init`: render a working hook, its systemd unit, the Core's snippet and a README."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from tfhook import __version__
from tfhook.errors import UserError
from tfhook.model import Phase

HANDLERS_FILE = "autoscaler-handlers.yaml"
HELPER_FILE = "tfhook_hook.py"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_UNQUOTED = re.compile(r"[A-Za-z0-9_@+=:,./-]+")
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes, NUL included
_SHEBANG_MAX = 127  # older kernels cut a #! line after 127 bytes


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of hook `tfhook init` can write."""

    name: str
    summary: str
    template: str
    hook_file: str
    phases: tuple[Phase, ...] = tuple(Phase)
    helper: bool = False  # also write tfhook/hook.py next to the hook as HELPER_FILE


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("terraform-refresh",
             "the documented pattern: after a change, terraform apply -refresh-only "
             "(standalone Python script, no jq)",
             "terraform-refresh/refresh.py.j2", "refresh.py", phases=(Phase.POST_HANDLE,)),
        Kind("shell", "a bash hook that reads the request with jq",
             "shell/hook.sh.j2", "hook.sh"),
        Kind("python", "a Python hook using tfhook's typed request helper (any python3)",
             "python/hook.py.j2", "hook.py", helper=True),
    )
}


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


@dataclass(frozen=True, slots=True)
class File:
    """A file `tfhook init` writes."""

    path: Path
    content: str
    summary: str
    executable: bool = False


def init_project(options: Options) -> list[File]:
    """Validate the options, render every file of the kind and write them.

    Nothing is written when a file already exists (unless `options.force`) or when
    `options.dry_run` is set.

    Args:
        options: the command line's choices.

    Returns:
        The files, rendered, in the order they are (or would be) written.

    Raises:
        UserError: a bad option, or a file that exists and is not to be overwritten.
    """
    kind = _kind(options.kind)
    context = _context(options, kind)
    files = render(kind, context)
    if not options.dry_run:
        write(files, force=options.force)
    return files


def render(kind: Kind, context: dict[str, Any]) -> list[File]:
    """Render a kind's hook, the handler snippet, the systemd unit and the README.

    Args:
        kind: the kind of hook.
        context: template variables (see `_context`); `files` is added here.

    Returns:
        The files, README last.
    """
    directory = Path(context["directory"])
    env = jinja_env()
    targets = _targets(kind, context["unit_file"])
    context = {**context, "files": [{"name": n, "summary": s} for _, n, s, _ in targets]}
    return [
        File(directory / name, env.get_template(template).render(context) if template
             else _helper_source(), summary, executable)
        for template, name, summary, executable in targets
    ]


def _targets(kind: Kind, unit_file: str) -> list[tuple[str, str, str, bool]]:
    """(template, file name, summary, executable) of each file; no template: the helper."""
    targets = [(kind.template, kind.hook_file, "the hook", True)]
    if kind.helper:
        targets.append(("", HELPER_FILE, "tfhook's request helper for the hook (stdlib only)",
                        False))
    return [*targets,
            ("common/handlers.yaml.j2", HANDLERS_FILE, "the Core's `handlers:` entry", False),
            ("common/unit.service.j2", unit_file, "systemd unit for `tfhook serve`", False),
            ("common/README.md.j2", "README.md", "this file", False)]


def write(files: list[File], *, force: bool = False) -> None:
    """Write files, all or none: stop before writing anything if one exists.

    Args:
        files: what to write; scripts get their run bit.
        force: overwrite existing files (never directories).

    Raises:
        UserError: a file exists (without `force`), or a path is a directory.
    """
    existing = [f.path for f in files if os.path.lexists(f.path)]
    for path in existing:
        if path.is_dir() and not path.is_symlink():
            raise UserError(f"{path} is a directory; not replacing it")
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise UserError(f"{names} already {verb}; nothing written (use --force to overwrite)")
    for file in files:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        _write_file(file)


def make_executable(path: Path) -> None:
    """Add the execute bits wherever the file has read bits (0644 becomes 0755).

    Args:
        path: the file.
    """
    mode = os.stat(path).st_mode
    os.chmod(path, mode | ((mode & 0o444) >> 2))


def jinja_env() -> jinja2.Environment:
    """The one Jinja environment: tfhook's templates, undefined variables are errors.

    Returns:
        The environment, with the quoting filters the templates use.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_root()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # nothing here is HTML; each target has its own quoting filter
    )
    env.filters.update(
        pyrepr=repr,
        shquote=shlex.quote,
        shjoin=shlex.join,
        systemd_argv=_systemd_argv,
        systemd_path=_systemd_escape,
        tojson=lambda value: json.dumps(value, ensure_ascii=False),
    )
    return env


def templates_root() -> Path:
    """Where the templates are: inside the installed wheel, else `templates/` of a checkout.

    Returns:
        The templates directory.

    Raises:
        UserError: neither exists (a broken installation).
    """
    packaged = Path(str(resources.files("tfhook").joinpath("_templates")))
    checkout = Path(__file__).resolve().parent.parent / "templates"
    for candidate in (packaged, checkout):
        if (candidate / "common").is_dir():
            return candidate
    raise UserError(f"tfhook's templates are missing (looked in {packaged} and {checkout})")


def describe_kinds() -> str:
    """The text of `tfhook init --list`: each kind and the files it writes.

    Returns:
        Several lines, ending with a newline.
    """
    lines = []
    for kind in KINDS.values():
        phases = ", ".join(phase.value for phase in kind.phases)
        files = ", ".join(name for _, name, _, _ in _targets(kind, "NAME.service"))
        lines += [kind.name, f"    {kind.summary}", f"    handler types: {phases}",
                  f"    writes: {files}"]
    return "\n".join(lines) + "\n"


def summary(files: list[File], *, dry_run: bool) -> str:
    """What `tfhook init` prints: the written files, or their content for --dry-run.

    Args:
        files: the rendered files.
        dry_run: show the content instead of reporting writes.

    Returns:
        Text ending with a newline.
    """
    if dry_run:
        parts = [f"==> {f.path} ({'0755' if f.executable else '0644'}, not written) <==\n"
                 f"{f.content}" for f in files]
        return "\n".join(parts)
    lines = [f"wrote {f.path}" for f in files]
    lines.append(f"next: read {files[-1].path}")
    return "\n".join(lines) + "\n"


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise UserError(f"--kind: {name!r} is not one of {', '.join(KINDS)} (see --list)")
    return KINDS[name]


def _context(options: Options, kind: Kind) -> dict[str, Any]:
    phase = _phase(options.handler_type, kind)
    name = _name(options.name)
    directory = _path(options.directory, "DIR")
    if directory.exists() and not directory.is_dir():
        raise UserError(f"DIR: {directory} exists and is not a directory")
    addr = options.addr or f"unix:/run/tfhook/{name}.sock"
    endpoint, socket = _address(addr)
    hook = directory / kind.hook_file
    tfhook_argv = _tfhook_argv()
    return {
        "version": __version__, "kind": kind.name, "name": name, "handler_type": phase.value,
        "rpc": phase.rpc, "directory": str(directory), "hook": str(hook),
        "readme_uri": (directory / "README.md").as_uri(),
        "hook_file": kind.hook_file, "addr": addr, "endpoint": endpoint,
        "runtime_directory": _runtime_directory(socket), "unit_file": f"{name}.service",
        "handlers_file": HANDLERS_FILE, "tf_dir": _tf_dir(options.tf_dir, kind),
        "shebang": _shebang(), "tfhook_argv": tfhook_argv,
        "serve_argv": [*tfhook_argv, *_serve_args(hook, phase, addr)],
        "local_serve": [*tfhook_argv, *_serve_args(hook, phase, f"unix:/tmp/tfhook-{name}.sock")],
        "local_socket": f"/tmp/tfhook-{name}.sock",
        "sample_request": _sample_request(phase),
    }


def _phase(value: str, kind: Kind) -> Phase:
    phases = {phase.value: phase for phase in Phase}
    if value not in phases:
        raise UserError(f"--handler-type: {value!r} is not one of {', '.join(phases)}")
    if phases[value] not in kind.phases:
        allowed = ", ".join(phase.value for phase in kind.phases)
        raise UserError(f"--handler-type: --kind {kind.name} works only as {allowed}")
    return phases[value]


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
    if kind.name != "terraform-refresh":
        raise UserError(f"--tf-dir: only --kind terraform-refresh uses it, not {kind.name}")
    path = _path(tf_dir, "--tf-dir")
    if not path.is_dir():
        raise UserError(f"--tf-dir: {path} is not a directory")
    return str(path)


def _address(addr: str) -> tuple[str, PurePosixPath | None]:
    """The Core's endpoint for a listen address, and the socket file, if any."""
    _plain(addr, "--addr")
    if addr.startswith("unix-abstract:") and len(addr) > len("unix-abstract:"):
        return addr, None
    if addr.startswith("unix:"):
        raw = addr[len("unix://"):] if addr.startswith("unix:///") else addr[len("unix:"):]
        if not raw.startswith("/"):
            raise UserError(f"--addr: {addr!r}: give an absolute socket path (unix:/run/...), "
                            "so that the service and the Core agree on it")
        if len(raw.encode()) > _SUN_PATH_MAX:
            raise UserError(f"--addr: {raw} is longer than a socket path may be "
                            f"({_SUN_PATH_MAX} bytes)")
        return addr, PurePosixPath(raw)
    host, sep, port = addr.rpartition(":")
    if sep and port.isdigit() and 0 < int(port) <= 65535:
        local = host in ("", "0.0.0.0", "[::]", "::")
        return (f"127.0.0.1:{port}" if local else addr), None
    raise UserError(f"--addr: {addr!r}: use unix:/ABS/PATH, unix-abstract:NAME or HOST:PORT")


def _runtime_directory(socket: PurePosixPath | None) -> str:
    """The RuntimeDirectory= systemd should create for a socket under /run, or ""."""
    run = PurePosixPath("/run")
    if socket is None or run not in socket.parents or socket.parent == run:
        return ""
    return str(socket.parent.relative_to(run))


def _serve_args(hook: Path, phase: Phase, addr: str) -> list[str]:
    return ["serve", "--executable-path", str(hook), "--handler-type", phase.value,
            "--addr", addr]


def _tfhook_argv() -> list[str]:
    """How to run this tfhook: its console script beside the interpreter, or `python -m`."""
    script = Path(sys.executable).parent / "tfhook"
    if os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "tfhook"]


def _shebang() -> str:
    """This interpreter, which has tfhook; `env python3` if it cannot stand in a #! line."""
    python = sys.executable
    if not python or len(python) > _SHEBANG_MAX - 2 or any(c.isspace() for c in python):
        return "/usr/bin/env python3"
    return python


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


def _systemd_escape(text: str) -> str:
    # systemd expands %-specifiers everywhere and $VARIABLES in ExecStart.
    return text.replace("%", "%%")


def _systemd_argv(argv: list[str]) -> str:
    words = []
    for arg in argv:
        word = _systemd_escape(arg).replace("$", "$$")
        if not _UNQUOTED.fullmatch(word):
            word = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
        words.append(word)
    return " ".join(words)


def _helper_source() -> str:
    source = resources.files("tfhook").joinpath("hook.py").read_text(encoding="utf-8")
    return f"# Copied from tfhook {__version__} (tfhook/hook.py) by `tfhook init`.\n{source}"


def _write_file(file: File) -> None:
    file.path.unlink(missing_ok=True)  # --force replaces a symlink, never writes through it
    file.path.write_text(file.content, encoding="utf-8")
    if file.executable:
        make_executable(file.path)
