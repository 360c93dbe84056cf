"""`serve`'s flags: the server's settings, and the single hook (--executable-path or
--tf-dir) as one route, checked by the same code as a routes file's routes.

The simplest case of the routes file: what the flags name here, a route names in its keys,
and messages name the flag (`--timeout: ...`) where a file's name its field.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from tfhook.config import address, options
from tfhook.config import route_fields as fields
from tfhook.config import routes_file as routes
from tfhook.config import settings as config
from tfhook.config.options import GENERIC, TERRAFORM, Option
from tfhook.config.values import CheckContext, Probes
from tfhook.core.hooks import AFTER_CHANGE, Hook
from tfhook.errors import RoutesError, UserError

SELECTORS = ("executable_path", "tf_dir", "routes_file")  # which mode serve runs in


def flag(field: str) -> str:
    """The flag that sets a route's field: `terraform.dir` → `--tf-dir`."""
    for option in options.FLAGS:
        if field == option.route:
            return option.cli
    return field


class Flags(fields.Where):
    """The route serve's flags make: its fields are named by their flags."""

    def __init__(self, problems: list[str]) -> None:
        self.prefix, self.problems, self._before = "", problems, len(problems)

    def name(self, field: str) -> str:
        return flag(field)

    def short(self, field: str) -> str:
        return flag(field)

    def hint(self, field: str) -> str:
        return f"start with {flag(field)}"

    def problem(self, field: str, message: str) -> None:
        self.problems.append(f"{flag(field)}: {message}" if field else message)


def settings(values: Mapping[str, Any], probes: Probes,
             explicit: Collection[str] | None = None) -> config.Settings:
    """The Settings serve's flags say (`values`: every flag, by key, as typer parsed it).

    Every problem is reported at once, one line each: the server-wide flags' first, then the
    hook's (as a routes file's are)."""
    problems: list[str] = []
    server = server_values(values, problems)
    # (0: a stand-in for a limit whose flag has a problem, which is reported)
    limits = config.Limits(**{key: server.pop(key, 0.0) for key in fields.LIMITS})
    try:
        found, announce = hooks(values, limits, probes, explicit)
    except RoutesError as exc:
        raise RoutesError(problems + exc.problems) from None
    except UserError as exc:
        raise RoutesError([*problems, _line(exc)]) from None
    if problems:
        raise RoutesError(problems)
    return config.Settings(**{options.BY_KEY[key].into or key: value
                              for key, value in server.items()},
                           hooks=found, limits=limits, announce_unmatched=announce)


def server_values(values: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The server-wide flags' values (and the hook limits' flags) by key, each checked by its
    rule; each problem is added to `problems`, named by its flag."""
    server: dict[str, Any] = {}
    for option in options.FLAGS:
        if option.scope == "server only" or option.key in fields.LIMITS:
            try:
                server[option.key] = checked(option, values[option.key])
                if option.key == "addr":
                    address.parse(values["addr"])  # its message names --addr
            except UserError as exc:
                problems.append(_line(exc))
    try:
        if values["socket_mode"] is not None and "socket_mode" in server:
            checked(options.BY_KEY["socket_mode"], None,
                    lambda: config.socket_mode(values["addr"], values["socket_mode"]))
    except UserError as exc:
        problems.append(_line(exc))
    return server


def _line(exc: UserError) -> str:
    return " ".join(str(exc).split("\n"))


def checked(option: Option, value: Any, check: Any = None) -> Any:
    """`value` by the option's rule (or `check`); a problem is named by the flag."""
    try:
        return check() if check is not None else option.rule(value, CheckContext())
    except UserError as exc:
        raise UserError(f"{option.cli}: {exc}") from None


def hooks(values: Mapping[str, Any], limits: config.Limits, probes: Probes,
          explicit: Collection[str] | None = None) -> tuple[tuple[Hook, ...], bool]:
    """The hooks, and whether an event none takes is announced (IGNORED); `limits` are
    those the flags say (with --routes: for the routes that set none); `explicit`
    the flags the command line named (a flag of the other mode is refused even at its
    default value)."""
    if [values[key] for key in SELECTORS].count(None) != 2:
        raise UserError("give exactly one of --executable-path (generic), --tf-dir "
                        "(Terraform) or --routes FILE (several hooks)")
    given = [option for option in options.given(values, explicit)
             if option.mode in (GENERIC, TERRAFORM) and option.key not in SELECTORS]
    if values["routes_file"] is not None:
        if given:
            raise UserError(f"{_flags(given)}: with --routes, set it in the routes file")
        return routes.load(values["routes_file"], limits, probes), True
    terraform_mode = values["tf_dir"] is not None
    check_mode(terraform_mode, given)
    problems: list[str] = []
    hook = routes.route(Flags(problems), CheckContext(Path.cwd(), probes),
                        route(values, given, terraform_mode), limits)
    if problems or hook is None:
        raise RoutesError(problems)
    return (hook,), terraform_mode


def _flags(given: list[Option]) -> str:
    return ", ".join(option.cli for option in given)


def check_mode(terraform_mode: bool, given: list[Option]) -> None:
    """Refuse flags of the other mode: silently ignoring them would hide a mistake."""
    if terraform_mode:
        wrong = [option for option in given if option.mode == GENERIC]
        if wrong:
            raise UserError(f"{_flags(wrong)}: only for --executable-path; Terraform mode "
                            "refreshes after PostHandle (choose results with --on-result)")
    elif wrong := [option for option in given if option.mode == TERRAFORM]:
        raise UserError(f"{_flags(wrong)}: only for Terraform mode (--tf-dir)")


def route(values: Mapping[str, Any], given: list[Option], terraform_mode: bool
          ) -> dict[str, Any]:
    """The route the flags describe, as a routes file would write it."""
    kind = "terraform" if terraform_mode else "executable"
    item: dict[str, Any] = {"name": kind, kind: {}, "match": {}}
    selector = options.BY_KEY["tf_dir" if terraform_mode else "executable_path"]
    for option in [selector, *given]:
        value = values[option.key]
        value = (not value if option.negate else str(value) if isinstance(value, Path)
                 else [str(one) for one in value] if isinstance(value, list) else value)
        (item[option.section] if option.section else item)[option.given_key] = value
    if not terraform_mode:
        item["match"]["phase"] = values["handler_type"]
        return item
    # Terraform mode refreshes after PostHandle: after a change, or the --on-result results.
    item["match"]["phase"] = [phase.value for phase in AFTER_CHANGE.phase]
    item["match"].setdefault("result", sorted(AFTER_CHANGE.result))
    return item
