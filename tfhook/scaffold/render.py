"""`tfhook init`: render a working hook, its systemd unit, the Core's snippet and a README."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from tfhook import __version__
from tfhook.scaffold import context as inputs
from tfhook.scaffold.context import HANDLERS_FILE, KINDS, Kind, Options

__all__ = ["KINDS", "File", "Kind", "Options", "ScaffoldPlan", "describe_kinds", "init_project",
           "jinja_env", "render", "summary", "templates_root", "write"]
from tfhook.errors import UserError

HELPER_FILE = "tfhook_hook.py"
_UNQUOTED = re.compile(r"[A-Za-z0-9_@+=:,./-]+")


@dataclass(frozen=True, slots=True)
class File:
    """A file `tfhook init` writes."""

    path: Path
    content: str
    summary: str
    executable: bool = False
    exists: bool = False  # when rendered


@dataclass(frozen=True, slots=True)
class ScaffoldPlan:
    """What `tfhook init` wrote (or would write), and what the user should know about it."""

    files: list[File]
    warnings: list[str]


def init_project(options: Options) -> ScaffoldPlan:
    """Validate the options, render every file of the kind and write them.

    Nothing is written when a file already exists (unless `options.force`) or when
    `options.dry_run` is set; a dry run warns about what would stop the real one.

    Args:
        options: the command line's choices.

    Returns:
        The files, rendered, in the order they are (or would be) written, and warnings.

    Raises:
        UserError: a bad option, a file that exists and is not to be overwritten, or a
            directory or file that cannot be written.
    """
    kind = _kind(options.kind)
    context = inputs.context(options, kind)
    files = render(kind, context)
    warnings = inputs.warnings(context)
    if options.dry_run:
        warnings += _dry_run_warnings(files, force=options.force)
    else:
        write(files, force=options.force)
    return ScaffoldPlan(files, warnings)


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
             else _helper_source(), summary, executable, os.path.lexists(directory / name))
        for template, name, summary, executable in targets
    ]


def _targets(kind: Kind, unit_file: str) -> list[tuple[str, str, str, bool]]:
    """(template, file name, summary, executable) of each file; no template: the helper."""
    targets = [(kind.template, kind.hook_file, "the routes file" if kind.routes else "the hook",
                not kind.routes)]
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
        UserError: a file exists (without `force`), a path is a directory, or the OS refused
            (the files this call created are removed again).
    """
    if conflict := _conflict(files, force=force):
        reason, remedy = conflict
        raise UserError(f"{reason}; nothing written ({remedy})")
    created: list[Path] = []
    try:
        for file in files:
            verb = "create"
            file.path.parent.mkdir(parents=True, exist_ok=True)
            verb = "write"
            if not os.path.lexists(file.path):
                created.append(file.path)
            _write_file(file)
    except OSError as exc:
        for path in created:
            with contextlib.suppress(OSError):
                path.unlink()
        raise UserError(f"cannot {verb} {exc.filename or file.path}: {exc.strerror or exc}"
                        ) from None


def _conflict(files: list[File], *, force: bool) -> tuple[str, str] | None:
    """(reason, remedy) when writing must not start: a file exists, or a directory is in the way."""
    existing = [f.path for f in files if os.path.lexists(f.path)]
    for path in existing:
        if path.is_dir() and not path.is_symlink():
            return f"{path} is a directory", "move it away: --force never replaces a directory"
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        return f"{', '.join(map(str, existing))} already {verb}", "use --force to overwrite"
    return None


def _dry_run_warnings(files: list[File], *, force: bool) -> list[str]:
    if conflict := _conflict(files, force=force):
        return [f"{conflict[0]}: without --dry-run, tfhook init would stop and write nothing "
                f"({conflict[1]})"]
    existing = ", ".join(str(f.path) for f in files if f.exists)
    return [f"--force would overwrite {existing}"] if existing else []


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
    """Where the templates are: `tfhook/scaffold/templates`, found the same way in every install.

    In a checkout (and an editable install) it is a symlink to the top-level `templates/`;
    a wheel holds the files themselves.

    Returns:
        The templates directory.

    Raises:
        UserError: it is missing (a broken installation).
    """
    root = Path(str(resources.files("tfhook.scaffold").joinpath("templates")))
    if not (root / "common").is_dir():
        raise UserError(f"tfhook's templates are missing (looked in {root})")
    return root


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


def summary(plan: ScaffoldPlan, *, dry_run: bool) -> str:
    """What `tfhook init` prints: the written files, or their content for --dry-run.

    Args:
        plan: the rendered files and the warnings.
        dry_run: show the content instead of reporting writes.

    Returns:
        Text ending with a newline.
    """
    if dry_run:
        parts = [f"==> {f.path} ({'0755' if f.executable else '0644'}"
                 f"{', exists' if f.exists else ''}, not written) <==\n{f.content}"
                 for f in plan.files]
        return "\n".join(parts)
    lines = [f"wrote {f.path}" for f in plan.files]
    lines.append(f"next: read {plan.files[-1].path}")
    return "\n".join(lines) + "\n"


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise UserError(f"--kind: {name!r} is not one of {', '.join(KINDS)} (see --list)")
    return KINDS[name]


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
    if file.executable:  # execute bits wherever there are read bits: 0644 becomes 0755
        mode = os.stat(file.path).st_mode
        os.chmod(file.path, mode | ((mode & 0o444) >> 2))
