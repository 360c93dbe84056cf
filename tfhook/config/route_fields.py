"""The fields of one route in a routes file, each checked; problems are collected, not raised."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from tfhook.config import settings as config
from tfhook.core.hooks import (
    PAYLOAD_ARGV,
    RESOURCE_TYPES,
    ExecutableAction,
    Match,
    TerraformAction,
)
from tfhook.core.model import Phase, Result
from tfhook.errors import UserError
from tfhook.hook import Instruction
from tfhook.terraform import engine as engines
from tfhook.terraform import startup

LIMIT_KEYS = ("timeout", "kill_after", "on_failure")
EXECUTABLE_KEYS = {"path", "payload_argv", *LIMIT_KEYS}
TERRAFORM_KEYS = {"dir", "terraform", "var", "var_file", "lock_timeout", "target_from_event",
                  "refresh_on_start", "reconcile_every", "init", "max_state_removals",
                  "check_revert", *LIMIT_KEYS}
MATCH_KEYS = ("phase", "resource_type", "resource_name", "source", "result", "instruction")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
T = TypeVar("T")
GLOB = "a shell glob with every [ closed by ] (for a literal [, write [[])"


class Where:
    """One route of a file: says where a problem is and collects it."""

    def __init__(self, file: str, index: int, item: Any, problems: list[str]) -> None:
        name = item.get("name") if isinstance(item, dict) else None
        self.prefix = f"{file}: routes[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        self.problems = problems
        self._before = len(problems)

    @property
    def failed(self) -> bool:
        return len(self.problems) > self._before

    def problem(self, field: str, message: str) -> None:
        self.problems.append(f"{self.prefix}: {field}: {message}" if field
                             else f"{self.prefix}: {message}")

    def unknown(self, data: dict[Any, Any], allowed: Iterable[str], section: str) -> None:
        for key in sorted(set(map(str, data)) - set(allowed)):
            self.problem(f"{section}.{key}" if section else key,
                         f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def boolean(self, data: dict[Any, Any], key: str, field: str, default: bool = False
                ) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(field, f"must be true or false, not {value!r}")
            return default
        return value

    def labels(self, section: str) -> dict[str, str]:
        """How messages at start and at run time name this route's fields."""
        names = {"dir": "dir", "var": "var/var_file", "init": "init", "terraform": "terraform",
                 "lock_timeout": "lock_timeout", "path": "path",
                 "max_state_removals": "max_state_removals"}
        labels = {key: f"{self.prefix}: {section}.{name}" for key, name in names.items()}
        return {**labels, "init_hint": f"set {section}.init: true"}

    def duration(self, value: Any, field: str, *, positive: bool = False) -> float | None:
        try:
            seconds = config.parse_duration(str(value), name=field)
        except UserError as exc:
            self.problem("", str(exc))
            return None
        if positive and seconds <= 0:
            self.problem(field, f"must be more than 0 (got {value!r})")
            return None
        return seconds


def name(where: Where, value: Any) -> str | None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        where.problem("name", "required: 1-64 letters, digits, '.', '_' or '-' (it labels the "
                      "route's progress and errors)")
        return None
    return value


def limits(where: Where, route: dict[Any, Any], section: dict[Any, Any], kind: str,
           defaults: config.Limits) -> dict[str, Any]:
    """timeout, kill_after and on_failure, from the route or from its action (not both)."""
    found: dict[str, Any] = {}
    for key in LIMIT_KEYS:
        if key in route and key in section:
            where.problem(f"{kind}.{key}", f"also given as the route's {key}: give it once")
        elif key in route or key in section:
            found[key] = (route if key in route else section)[key]
    timeout = where.duration(found["timeout"], "timeout", positive=True) \
        if "timeout" in found else defaults.timeout
    kill_after = where.duration(found["kill_after"], "kill_after") \
        if "kill_after" in found else defaults.kill_after
    on_failure = found.get("on_failure", "fail")
    if on_failure not in ("fail", "warn"):
        where.problem("on_failure", f"{on_failure!r} is not one of fail, warn")
    return {"timeout": defaults.timeout if timeout is None else timeout,
            "kill_after": defaults.kill_after if kill_after is None else kill_after,
            "on_failure": on_failure}


def executable(where: Where, base: Path, section: dict[Any, Any]) -> ExecutableAction | None:
    where.unknown(section, EXECUTABLE_KEYS, "executable")
    path = _path(where, base, section, "executable.path", "the hook to run",
                 config.executable_problem)
    payload_argv = section.get("payload_argv", "redacted")
    if payload_argv not in PAYLOAD_ARGV:
        where.problem("executable.payload_argv",
                      f"{payload_argv!r} is not one of {', '.join(PAYLOAD_ARGV)}")
    return None if path is None or where.failed else ExecutableAction(path, payload_argv)


def _path(where: Where, base: Path, section: dict[Any, Any], field: str, what: str,
          problem: Callable[[Path], str | None]) -> Path | None:
    """A required path (relative: to the file's directory), checked by `problem`."""
    value = section.get(field.rpartition(".")[2])
    if not isinstance(value, str) or not value:
        where.problem(field, f"required: {what}")
        return None
    resolved = (base / value).absolute()
    found = problem(resolved)
    if found:
        where.problem(field, found)
    return resolved


def terraform(where: Where, base: Path, section: dict[Any, Any]) -> TerraformAction | None:
    where.unknown(section, TERRAFORM_KEYS, "terraform")
    tf_dir = _path(where, base, section, "terraform.dir", "the Terraform directory to refresh",
                   startup.directory_problem)
    if tf_dir is None:
        return None
    reconcile = section.get("reconcile_every")
    lock = where.duration(section.get("lock_timeout", "60s"), "terraform.lock_timeout")
    return TerraformAction(
        dir=tf_dir,
        engine=_engine(where, base, section.get("terraform", "auto")),
        var_files=tuple(_var_files(where, base, section.get("var_file", []))),
        variables=tuple(_variables(where, section.get("var", {}))),
        init=where.boolean(section, "init", "terraform.init"),
        lock_timeout=60.0 if lock is None else lock,
        target_from_event=where.boolean(section, "target_from_event",
                                        "terraform.target_from_event"),
        refresh_on_start=where.boolean(section, "refresh_on_start", "terraform.refresh_on_start"),
        reconcile_every=None if reconcile is None else where.duration(
            reconcile, "terraform.reconcile_every", positive=True),
        max_state_removals=_count(where, section.get("max_state_removals", 0),
                                  "terraform.max_state_removals"),
        check_revert=where.boolean(section, "check_revert", "terraform.check_revert",
                                   default=True),
    )


def _count(where: Where, value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        where.problem(field, f"must be a whole number, 0 or more (got {value!r})")
        return 0
    return value


def _engine(where: Where, base: Path, value: Any) -> str:
    if not isinstance(value, str) or not value:
        where.problem("terraform.terraform", "must be auto, embedded or a path")
        return "auto"
    choice = value if value in ("auto", "embedded") or "/" not in value else str(base / value)
    try:
        engines.choose(choice, config.environment(), "terraform.terraform")
    except UserError as exc:
        where.problem("", str(exc))
    return choice


def _var_files(where: Where, base: Path, value: Any) -> list[Path]:
    files = []
    for item in _strings(where, value, "terraform.var_file"):
        path = (base / item).absolute()
        if not path.is_file():
            where.problem("terraform.var_file", f"{path} is not a readable file")
        files.append(path)
    return files


def _variables(where: Where, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(key), str(item)) for key, item in value.items()]
    pairs = []
    for item in _strings(where, value, "terraform.var"):
        key, sep, text = item.partition("=")
        if not sep or not key:
            where.problem("terraform.var", f"{item!r} must be KEY=VALUE")
        pairs.append((key, text))
    return pairs


def _strings(where: Where, value: Any, field: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        where.problem(field, "must be a string or a list of strings")
        return []
    return items


def match(where: Where, data: Any) -> Match | None:
    if not isinstance(data, dict):
        where.problem("match", "must be a mapping of match keys")
        return None
    where.unknown(data, MATCH_KEYS, "match")
    phases = {p.value: p for p in Phase}
    results = _codes(Result, {"no-change": Result.NO_CHANGE})
    instructions = _codes(Instruction, {})
    return Match(
        phase=frozenset(_values(where, data, "phase", phases.get, "one of " + ", ".join(phases))),
        resource_type=frozenset(_values(where, data, "resource_type",
                                        {t: t for t in RESOURCE_TYPES}.get,
                                        "one of " + ", ".join(RESOURCE_TYPES))),
        resource_name=tuple(_values(where, data, "resource_name", _glob, GLOB)),
        source=tuple(_values(where, data, "source", _glob, GLOB)),
        result=frozenset(_values(where, data, "result", results, "one of created, updated, "
                                 "deleted, no-change, unknown (or 0-4)")),
        instruction=frozenset(_values(where, data, "instruction", instructions,
                                      "one of create, update, delete, noop, unknown (or 0-4)")),
    )


def _values(where: Where, data: dict[Any, Any], key: str, parse: Callable[[Any], T | None],
            allowed: str) -> list[T]:
    if key not in data:
        return []
    raw = data[key] if isinstance(data[key], list) else [data[key]]
    if not raw:
        where.problem(f"match.{key}", "an empty list matches nothing; leave the key out")
    found = []
    for item in raw:
        value = parse(item) if isinstance(item, (str, int)) and not isinstance(item, bool) \
            else None
        if value is None:
            where.problem(f"match.{key}", f"{item!r} is not {allowed}")
        else:
            found.append(value)
    return found


def _glob(item: Any) -> str | None:
    """The pattern, or None when it is not a string or leaves a `[` unclosed (fnmatch would
    quietly take that `[` literally: `[abc` would match only the name `[abc`)."""
    if not isinstance(item, str):
        return None
    at = item.find("[")
    while at != -1:
        end = at + 1
        end += item.startswith("!", end)
        end += item.startswith("]", end)  # a `]` first in the set is a member
        close = item.find("]", end)
        if close == -1:
            return None
        at = item.find("[", close + 1)
    return item


def _codes(codes: type[enum.IntEnum], extra: dict[str, enum.IntEnum]) -> Callable[[Any], int | None]:
    names = {c.name.lower(): int(c) for c in codes} | {k: int(v) for k, v in extra.items()}

    def parse(item: Any) -> int | None:
        if isinstance(item, int):
            return item if item in set(names.values()) else None
        return names.get(item.strip().lower().replace("_", "-"), names.get(item.lower()))

    return parse


def with_defaults(found: Match, default: Match) -> Match:
    """`found`, with `default`'s phase and result where it names none."""
    return dataclasses.replace(found, phase=found.phase or default.phase,
                               result=found.result or default.result)
