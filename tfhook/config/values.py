"""The rules option values are checked by, for flags and routes files alike.

Each rule takes the value as given (a flag's text, a YAML value) and the `CheckContext` it came
with, and returns it parsed or raises UserError with the problem alone: the caller says
where the value came from (`--timeout: ...`, `tfhook.yaml: routes[2] (elb):
timeout: ...`). A rule that finds several problems raises RoutesError.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfhook.config import address, env, settings
from tfhook.core import names
from tfhook.core.hooks import RESOURCE_TYPES, Converge
from tfhook.errors import RoutesError, UserError, did_you_mean
from tfhook.history import dsn


def _no_problem(_: Any) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Probes:
    """Checks the layers above lend the config (it may not import them): what keeps a
    Terraform directory from working, and what is wrong with an engine choice."""

    directory: Callable[[Path], str | None] = _no_problem
    engine: Callable[[str], str | None] = _no_problem


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a value is checked against: the directory relative paths start from (a routes
    file's, or the working directory for flags) and the probes."""

    base: Path = field(default_factory=Path.cwd)
    probes: Probes = Probes()


Rule = Callable[[Any, CheckContext], Any]
GLOB = "a shell glob with every [ closed by ] (for a literal [, write [[])"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def text(value: Any, at: CheckContext) -> Any:
    return value


def duration(value: Any, at: CheckContext) -> float:
    return settings.parse_duration(str(value))


def positive_duration(value: Any, at: CheckContext) -> float:
    return settings.positive_duration(str(value))


def optional_duration(value: Any, at: CheckContext) -> float | None:
    return None if value is None else positive_duration(value, at)


def boolean(value: Any, at: CheckContext) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"must be true or false, not {value!r}")
    return value


def count(value: Any, at: CheckContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"must be a whole number, 0 or more (got {value!r})")
    return value


_WORDS = {False: "off", True: "on"}


def choice(*choices: str) -> Rule:
    """One of `choices`, as given (YAML 1.1 reads a bare `off` or `on` as a boolean: taken
    back as the word when it is one of `choices`, as `warm_providers: off`)."""
    def rule(value: Any, at: CheckContext) -> str:
        if isinstance(value, bool) and _WORDS[value] in choices:
            value = _WORDS[value]
        if value not in choices:
            raise UserError(f"{value!r} is not one of {', '.join(choices)}")
        return str(value)
    return rule


def name(value: Any, at: CheckContext) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise UserError("required: 1-64 letters, digits, '.', '_' or '-' (it labels the "
                        "route's progress and errors)")
    return value


def required_path(what: str, problem: Callable[[CheckContext], Callable[[Path], str | None]]
                  ) -> Rule:
    """A required path (relative: to the context's base), checked by `problem`."""
    def rule(value: Any, at: CheckContext) -> Path:
        if not isinstance(value, str) or not value:
            raise UserError(f"required: {what}")
        resolved = (at.base / value).absolute()
        found = problem(at)(resolved)
        if found:
            raise UserError(found)
        return resolved
    return rule


def engine(value: Any, at: CheckContext) -> str:
    if not isinstance(value, str) or not value:
        raise UserError("must be auto, embedded or a path")
    chosen = value if value in ("auto", "embedded") or "/" not in value else str(at.base / value)
    problem = at.probes.engine(chosen)
    if problem:
        raise UserError(problem)
    return chosen


def strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise UserError("must be a string or a list of strings")
    return items


def var_files(value: Any, at: CheckContext) -> tuple[Path, ...]:
    files = tuple((at.base / item).absolute() for item in strings(value))
    _all_of([f"{path} is not a readable file" for path in files if not path.is_file()])
    return files


def variables(value: Any, at: CheckContext) -> tuple[tuple[str, str], ...]:
    """(name, the value as JSON text) for Terraform's variables file: a routes file's map
    keeps each YAML value's type (`true`, `3`, `[a, b]`, `{k: v}`); `KEY=VALUE` (a flag, or
    a list in a routes file) is a string, as `-var` gives it."""
    if isinstance(value, dict):
        _all_of([f"{key}: {problem}" for key, item in value.items()
                 for problem in [_json_problem(item)] if problem])
        return tuple((str(key), json.dumps(item, ensure_ascii=False, allow_nan=False))
                     for key, item in value.items())
    pairs = [item.partition("=") for item in strings(value)]
    _all_of([f"{key + sep + rest!r} must be KEY=VALUE" for key, sep, rest in pairs
             if not sep or not key])
    return tuple((key, json.dumps(rest, ensure_ascii=False)) for key, _, rest in pairs)


def converge(value: Any, at: CheckContext) -> Converge:
    """`{vars_file: NAME.auto.tfvars.json, commit: bool}` (#22): a file in the directory
    itself that Terraform loads by itself, so a plain `terraform plan` reads it too; tfhook
    writes it as JSON."""
    if not isinstance(value, dict):
        raise UserError("must be a mapping: {vars_file: NAME.auto.tfvars.json, commit: false}")
    keys = ("commit", "vars_file")
    problems = [f"{key}: unknown key ({did_you_mean(key, keys)}allowed: commit, vars_file)"
                for key in sorted(set(map(str, value)) - set(keys))]
    name = value.get("vars_file")
    # A misspelled vars_file is one problem (the unknown key), not also a missing file name.
    if (name is not None or not problems) and (
            not isinstance(name, str) or Path(name).name != name or not (
            name.endswith(".auto.tfvars.json") or name == "terraform.tfvars.json")):
        problems.append(f"vars_file: {name!r} must be a file name (no folder) ending in "
                        ".auto.tfvars.json, which Terraform loads from the directory by itself")
    commit = value.get("commit", False)
    if not isinstance(commit, bool):
        problems.append(f"commit: {commit!r} must be true or false")
    _all_of(problems)
    return Converge(str(name), commit)


def _json_problem(value: Any) -> str:
    """Why a YAML value cannot be a Terraform variable's value in JSON, or ""."""
    if value is None:
        # Terraform would set the variable to null, not to its default: `key:` with the
        # value forgotten is the likelier meaning.
        return "null (no value): give one, or leave the key out for the default"
    return _nested_problem(value)


def _nested_problem(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a number Terraform takes"
    if isinstance(value, list):
        return next(filter(None, map(_nested_problem, value)), "")
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return f"{value!r}: map keys must be strings (quote them)"
        return next(filter(None, map(_nested_problem, value.values())), "")
    if value is None or isinstance(value, (str, int, float, bool)):
        return ""
    return f"{value!r} is a YAML {type(value).__name__}, not a string, number, bool, " \
        "list or map (quote it)"


def _all_of(problems: list[str]) -> None:
    if problems:
        raise RoutesError(problems)


def each(parse: Callable[[Any], Any], allowed: str) -> Rule:
    """A match key: one value or a list, each parsed by `parse` (None: not allowed)."""
    def rule(value: Any, at: CheckContext) -> list[Any]:
        raw = value if isinstance(value, list) else [value]
        problems = [] if raw else ["an empty list matches nothing; leave the key out"]
        found = [parse(item) if isinstance(item, (str, int)) and not isinstance(item, bool)
                 else None for item in raw]
        problems += [f"{item!r} is not {allowed}" for item, got in zip(raw, found, strict=True)
                     if got is None]
        _all_of(problems)
        return found
    return rule


def glob(item: Any) -> str | None:
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


phases = each(names.parse_phase, names.phase_choices())
results = each(lambda item: names.parse_code(names.Result, item),
               names.code_choices(names.Result))
instructions = each(lambda item: names.parse_code(names.Instruction, item),
                    names.code_choices(names.Instruction))
resource_types = each({t: t for t in RESOURCE_TYPES}.get, "one of " + ", ".join(RESOURCE_TYPES))
globs = each(glob, GLOB)


# Server-only options: their value is the flag's text, or None when not given.
def path(value: Any, at: CheckContext) -> Path | None:
    return None if value is None else Path(value).absolute()


def path_or(default: Callable[[], Path]) -> Rule:
    """A path, else `default()` when not given; absolute either way."""
    def rule(value: Any, at: CheckContext) -> Path:
        return (Path(value) if value is not None else default()).absolute()
    return rule


def database(value: Any, at: CheckContext) -> str | None:
    """A PostgreSQL URL for the history (#24), else $TFHOOK_HISTORY_URL, else None (SQLite)."""
    url = value if value is not None else settings.environment().get(settings.HISTORY_ENV)
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise UserError(f"{dsn.mask(url)!r}: expected a postgresql://USER@HOST/DB URL")
    return dsn.with_password(str(url), settings.environment().get(env.HISTORY_PASSWORD))


def age(value: Any, at: CheckContext) -> float:
    return settings.parse_age(str(value))


def socket_mode(value: Any, at: CheckContext) -> int:
    return settings.DEFAULT_SOCKET_MODE if value is None else settings.parse_socket_mode(value)


def unix_socket(value: Any, at: CheckContext) -> str | None:
    """A unix:PATH address (a socket file, whose mode guards who connects), or None."""
    if value is not None and address.parse(str(value)).path is None:
        raise UserError(f"{value!r} is not unix:PATH: the admin service answers only on a "
                        "socket file (over TCP or unix-abstract: anyone could decide)")
    return None if value is None else str(value)


def handler_config(value: Any, at: CheckContext) -> settings.Exporter:
    return settings.Exporter() if value is None else settings.load_handler_config(Path(value))


def concurrency(value: Any, at: CheckContext) -> int:
    return settings.default_concurrency() if value is None else settings.parse_concurrency(value)


def size(value: Any, at: CheckContext) -> int:
    return settings.parse_size(str(value))


def executable(path: Path) -> str | None:
    return settings.executable_problem(path)
