"""The routes file (`serve --routes tfhook.yaml`): read it, check every field, make the hooks.

Every problem is collected and reported at once, each naming the file, the route and the
field: `tfhook.yaml: routes[2] (notify): executable.path: ... does not exist`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfhook.config import route_fields as fields
from tfhook.config import yamlfile
from tfhook.config.options import BY_KEY
from tfhook.config.settings import Limits
from tfhook.config.values import CheckContext, Probes
from tfhook.core.hooks import AFTER_CHANGE, ExecutableAction, Hook, TerraformAction
from tfhook.errors import RoutesError, UserError, did_you_mean  # RoutesError: also routes.RoutesError

TOP_KEYS = {"routes"}
ROUTE_KEYS = {"name", "match", "executable", "terraform", "parallel", "notify",
              *fields.LIMIT_KEYS}


def load(path: Path, limits: Limits | None = None, probes: Probes | None = None
         ) -> tuple[Hook, ...]:
    """Read and check a routes file.

    Args:
        path: the file; relative paths inside it start from its directory.
        limits: the limits of routes that give none.
        probes: the Terraform checks (directory, engine) from the layer that serves; none:
            Terraform directories and engines are not looked at.

    Returns:
        The hooks, in file order.

    Raises:
        RoutesError: every problem found, one per line.
    """
    problems: list[str] = []
    data = _read(path, problems)
    hooks: list[Hook] = []
    at = CheckContext(path.parent, probes or Probes())
    if data is not None:
        names: dict[str, int] = {}
        for index, item in enumerate(data):
            where = fields.Where(str(path), index, item, problems)
            hook = route(where, at, item, limits or Limits())
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and names.setdefault(name, index) != index:
                where.problem("name", f"{name!r} is also routes[{names[name]}]'s name")
            elif hook is not None:
                hooks.append(hook)
        _shared_directories(str(path), hooks, names, problems)
    if problems:
        raise RoutesError(problems)
    return tuple(hooks)


def _read(path: Path, problems: list[str]) -> list[Any] | None:
    try:
        data: Any = yamlfile.read(path)
    except UserError as exc:
        problems.append(str(exc))
        return None
    if not isinstance(data, dict):
        problems.append(f"{path}: must be a mapping with a `routes:` list")
        return None
    for key in sorted(set(map(str, data)) - TOP_KEYS):
        problems.append(f"{path}: {key}: unknown key ({did_you_mean(key, TOP_KEYS)}allowed: "
                        "routes)")
    routes = data.get("routes")
    if not isinstance(routes, list) or not routes:
        problems.append(f"{path}: routes: must be a list of at least one route")
        return None
    return routes


def route(where: fields.Where, at: CheckContext, item: Any, defaults: Limits) -> Hook | None:
    """One route's hook; every field is checked, whatever else is wrong with the route.
    serve's flags come here too, as one route (`flags.route`)."""
    if not isinstance(item, dict):
        where.problem("", "must be a mapping (name, match, executable or terraform...)")
        return None
    where.unknown(item, ROUTE_KEYS, "")
    name = fields.name(where, at, item.get("name"))
    match = fields.match(where, at, item.get("match", {}))
    parallel = fields.boolean(where, at, item, "parallel")
    notify = fields.value(where, at, BY_KEY["notify"], item["notify"]) \
        if "notify" in item else None
    kind, section = _action_section(where, item)
    limits = fields.limits(where, at, item, section, kind or "executable", defaults)
    action: ExecutableAction | TerraformAction | None = (
        None if kind is None else fields.action(where, at, kind, section))
    if action is None or match is None or name is None or where.failed:
        return None
    if isinstance(action, TerraformAction) and not match.phase and not match.result:
        match = fields.with_defaults(match, AFTER_CHANGE)
    return Hook(name, action, match, parallel=parallel, notify=notify,
                labels=where.labels(kind or ""), **limits)


def _action_section(where: fields.Where, item: dict[Any, Any]
                    ) -> tuple[str | None, dict[Any, Any]]:
    """The route's kind (executable or terraform) and its section; None and {} when the
    route gives neither, both, or a section that is not a mapping (a problem is noted)."""
    kinds = [key for key in ("executable", "terraform") if key in item]
    if len(kinds) != 1:
        where.problem("", "give exactly one of executable or terraform")
        return None, {}
    section = item[kinds[0]]
    if not isinstance(section, dict):
        where.problem(kinds[0], "must be a mapping")
        return None, {}
    return kinds[0], section


def _shared_directories(path: str, hooks: list[Hook], index: dict[str, int],
                        problems: list[str]) -> None:
    """Routes on one Terraform directory share its single flight, so they must agree on how
    Terraform runs there."""
    first: dict[Path, Hook] = {}
    for hook in hooks:
        if not isinstance(hook.action, TerraformAction):
            continue
        seen = first.setdefault(hook.action.dir, hook)
        if (seen.action, seen.limits) != (hook.action, hook.limits):
            problems.append(
                f"{path}: routes[{index[hook.name]}] ({hook.name}): terraform.dir: "
                f"{hook.action.dir} is also routes[{index[seen.name]}] ({seen.name})'s, with "
                "other options; routes on one directory share its runs, so give them the same "
                f"terraform options, {' and '.join(fields.LIMITS)}")
