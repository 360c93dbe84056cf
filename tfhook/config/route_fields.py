"""The fields of one route, each checked by its rule in the option table; problems are
collected, not raised, each named by where it came from (a routes file or serve's flags)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from tfhook.config import options
from tfhook.config import settings as config
from tfhook.config.values import CheckContext
from tfhook.core.hooks import ExecutableAction, Limits, Match, TerraformAction
from tfhook.errors import RoutesError, UserError, did_you_mean

LIMITS = tuple(field.name for field in dataclasses.fields(Limits))  # from the record, whole
LIMIT_KEYS = (*LIMITS, "on_failure")  # what a route may give itself or in its action
REQUIRED = ("executable.path", "terraform.dir")  # what a section runs: the rest have defaults
SECTIONS = {"executable": ExecutableAction, "terraform": TerraformAction}


def _keys(section: str) -> set[str]:
    return {option.given_key for option in options.in_section(section)}


EXECUTABLE_KEYS = {*_keys("executable"), *LIMIT_KEYS}
TERRAFORM_KEYS = {*_keys("terraform"), *LIMIT_KEYS}
MATCH_KEYS = tuple(option.given_key for option in options.in_section("match"))


class Where:
    """One route: names its fields in messages and collects its problems. This one is a
    routes file's route: `tfhook.yaml: routes[2] (elb): terraform.dir`."""

    def __init__(self, file: str, index: int, item: Any, problems: list[str]) -> None:
        name = item.get("name") if isinstance(item, dict) else None
        self.prefix = f"{file}: routes[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        self.problems = problems
        self._before = len(problems)

    def name(self, field: str) -> str:
        """How messages name `field` (`terraform.dir`), with where it is."""
        return f"{self.prefix}: {field}" if field else self.prefix

    def short(self, field: str) -> str:
        """`field` named again right after another of its section (`var/var_file`)."""
        return field.rpartition(".")[2]

    @property
    def failed(self) -> bool:
        return len(self.problems) > self._before

    def problem(self, field: str, message: str) -> None:
        self.problems.append(f"{self.name(field)}: {message}")

    def unknown(self, data: dict[Any, Any], allowed: Iterable[str], section: str) -> None:
        for key in sorted(set(map(str, data)) - set(allowed)):
            self.problem(f"{section}.{key}" if section else key,
                         f"unknown key ({did_you_mean(key, allowed)}"
                         f"allowed: {', '.join(sorted(allowed))})")

    def labels(self, section: str) -> dict[str, str]:
        """How messages at start and at run time name this route's fields."""
        labels = {option.given_key: self.name(option.route)
                  for option in options.in_section(section)}
        if section == "terraform":
            labels["var"] = f"{self.name('terraform.var')}/{self.short('terraform.var_file')}"
            labels["init_hint"] = self.hint("terraform.init")
        return labels

    def hint(self, field: str) -> str:
        """How to turn a switch on: `set terraform.init: true`."""
        return f"set {field}: true"


def value(where: Where, at: CheckContext, option: options.Option, raw: Any, field: str = "") -> Any:
    """`raw` checked by the option's rule; None (and a problem noted) when it breaks it."""
    try:
        return option.rule(raw, at)
    except RoutesError as exc:
        for problem in exc.problems:
            where.problem(field or option.route, problem)
    except UserError as exc:
        where.problem(field or option.route, str(exc))
    return None


def name(where: Where, at: CheckContext, raw: Any) -> str | None:
    found: str | None = value(where, at, options.BY_KEY["name"], raw)
    return found


def boolean(where: Where, at: CheckContext, item: dict[Any, Any], key: str) -> bool:
    option = options.BY_KEY[key]
    return bool(value(where, at, option, item[key])) if key in item else False


def limits(where: Where, at: CheckContext, route: dict[Any, Any], section: dict[Any, Any],
           kind: str, defaults: config.Limits) -> dict[str, Any]:
    """The hook's `limits` and `on_failure`, from the route or from its action (not both)."""
    found: dict[str, Any] = {"on_failure": "fail", **dataclasses.asdict(defaults)}
    for key in LIMIT_KEYS:
        if key in route and key in section:
            where.problem(f"{kind}.{key}", f"also given as the route's {key}: give it once")
        elif key in route or key in section:  # named where it was written
            field = key if key in route else f"{kind}.{key}"
            checked = value(where, at, options.BY_KEY[key],
                            (route if key in route else section)[key], field)
            found[key] = found[key] if checked is None else checked
    policy = found.pop("on_failure")
    return {"limits": Limits(**found), "on_failure": policy}


def action(where: Where, at: CheckContext, kind: str, section: dict[Any, Any]
           ) -> ExecutableAction | TerraformAction | None:
    """The route's executable or terraform section, every key checked by its rule."""
    allowed = EXECUTABLE_KEYS if kind == "executable" else TERRAFORM_KEYS
    where.unknown(section, allowed, kind)
    fields: dict[str, Any] = {}
    for option in options.in_section(kind):
        if option.given_key in section or option.route in REQUIRED:
            fields[option.field] = value(where, at, option, section.get(option.given_key))
    if where.failed:
        return None
    record: type[ExecutableAction | TerraformAction] = SECTIONS[kind]
    return record(**{key: found for key, found in fields.items() if found is not None})


def match(where: Where, at: CheckContext, data: Any) -> Match | None:
    if not isinstance(data, dict):
        where.problem("match", "must be a mapping of match keys")
        return None
    where.unknown(data, MATCH_KEYS, "match")
    found: dict[str, Any] = {}
    for option in options.in_section("match"):
        if option.given_key in data:
            items = value(where, at, option, data[option.given_key]) or []
            kind = type(getattr(Match(), option.given_key))
            found[option.given_key] = kind(item for item in items if item is not None)
    return Match(**found)


def with_defaults(found: Match, default: Match) -> Match:
    """`found`, with `default`'s phase and result where it names none."""
    return dataclasses.replace(found, phase=found.phase or default.phase,
                               result=found.result or default.result)
