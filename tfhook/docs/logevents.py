"""The log reference: every event tfhook logs, read from the logging calls in its source.

The events are the first argument of each structlog call (`log.info("serving", addr=...)`);
reading them from the code keeps one spelling of each, in the call that logs it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import tfhook
from tfhook.docs import NOTE

LEVELS = {"debug": "debug", "info": "info", "warning": "warn", "error": "error",
          "exception": "error"}
_LOGGERS = {"log", "logger", "_log", "_runs"}  # the names tfhook binds its loggers to
_SKIP = {"v1", "docs"}


@dataclass
class Entry:
    """One event: its levels, the fields it carries, the modules that log it."""

    levels: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)


def events(root: Path | None = None) -> dict[str, Entry]:
    """Every event logged under `root` (tfhook's package), by name."""
    root = root or Path(tfhook.__file__).parent
    found: dict[str, Entry] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in _SKIP:
            continue
        module = "tfhook." + ".".join(relative.with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = _event(node)
            if name is not None and isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Attribute)
                entry = found.setdefault(name, Entry())
                entry.levels.add(LEVELS[node.func.attr])
                entry.fields.update(kw.arg or "…" for kw in node.keywords)
                entry.modules.add(module)
    return found


def _event(node: ast.AST) -> str | None:
    """The event a logging call logs, `{}` standing for what an f-string fills in."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in LEVELS and node.args and _is_logger(node.func.value)):
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    if isinstance(first, ast.JoinedStr):
        return "".join(str(part.value) if isinstance(part, ast.Constant) else "{}"
                       for part in first.values)
    return None


def _is_logger(value: ast.expr) -> bool:
    if isinstance(value, ast.Name):
        return value.id in _LOGGERS
    if isinstance(value, ast.Attribute):
        return value.attr in _LOGGERS
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr == "get_logger")


def page() -> str:
    """docs/reference/logs.md: each event, its levels, fields and where it is logged."""
    lines = ["# Log events", "", NOTE.format(source="the logging calls in `tfhook/`"), "",
             "Each line has `time`, `level` and `event`, then the fields below (logfmt, or JSON "
             "with `--log-format json`). `…` stands for fields given as a group: on `call "
             "finished` and `call failed`, `routes`, `phase`, `resource`, `job`, `result` or "
             "`instruction`, `decision`, `outcome`, `duration`; on `run done` and `run failed`, "
             "`route`, `dir`, `triggers`, `events`, `duration`, `run`; on a call's debug lines, "
             "`phase`, `source`, `resource`, `type`, `job`, `result` or `instruction`; on "
             "`background run started`, `trigger` (why it runs); on `serving`, "
             "`mode`, `routes`, `dirs`, `engine` (`payload_argv_full` when a route passes the "
             "whole request); on `did not stop...`, `note` for Terraform. Start-up says "
             "`serving`; the last line is `stopped`.", "",
             "| event | level | fields | logged by |", "|---|---|---|---|"]
    for name, entry in sorted(events().items()):
        levels = ", ".join(sorted(entry.levels))
        fields = ", ".join(f"`{item}`" for item in sorted(entry.fields))
        modules = ", ".join(f"`{module}`" for module in sorted(entry.modules))
        shown = name.replace("|", "\\|")
        lines.append(f"| `{shown}` | {levels} | {fields} | {modules} |")
    return "\n".join(lines) + "\n"
