"""The one table of tfhook's options: every serve flag and every key of a route.

Each `Option` says its key, its flag, where it may appear (flag and route, route only, or
server only), the rule its value is checked by, its default, and how `--help` shows it.
`serve`'s typer command, the routes-file checker, the help panels and docs/options.md are
all made from this table: a new option is one more row here, never a field beside it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfhook.config import notify, settings
from tfhook.config import values as rule
from tfhook.config.settings import DEFAULT_ADDR
from tfhook.core.hooks import PAYLOAD_ARGV, UNEXPLAINED_DRIFT

GENERIC = "Generic mode (--executable-path)"
TERRAFORM = "Terraform mode (--tf-dir)"
ROUTES = "Several hooks (--routes)"
NO_FLAG = "-"  # a route-only key


@dataclass(frozen=True, slots=True)
class Option:
    """One option. `route` is its field in a route (`terraform.lock_timeout`; a key of the
    route itself when it has no section; "" for a server-only option); `into` the field of
    the record it fills when not the route's key; `mode` the help panel of serve's flag."""

    key: str
    help: str = ""
    default: Any = None
    metavar: str = ""  # "" for a switch
    type: Any = str  # what the flag's text becomes before the rule sees it
    flag: str = ""  # "" derives it from the key; NO_FLAG: route only
    route: str = ""
    mode: str = ""
    rule: rule.Rule = rule.text
    into: str = ""
    negate: bool = False  # the flag says no (--no-check-revert) to the route's key
    stop: int = 0  # its step in a stop (1 first): `tfhook init` writes it into the unit
    systemd: str = ""  # the directory systemd makes (StateDirectory) it takes in that unit

    @property
    def cli(self) -> str:
        """The flag: `--lock-timeout`; "" for a route-only key."""
        if self.flag == NO_FLAG:
            return ""
        return self.flag or "--" + self.key.replace("_", "-")

    @property
    def scope(self) -> str:
        """Where the key may appear: `flag and route`, `route only` or `server only`."""
        if not self.route:
            return "server only"
        return "route only" if not self.cli else "flag and route"

    @property
    def section(self) -> str:
        return self.route.rpartition(".")[0]

    @property
    def field(self) -> str:
        """The key inside its section (`lock_timeout`), and the record's field."""
        return self.into or self.route.rpartition(".")[2]

    @property
    def given_key(self) -> str:
        return self.route.rpartition(".")[2]


def _o(key: str, help: str, default: Any = None, metavar: str = "", **more: Any) -> Option:
    return Option(key, help, default, metavar, **more)


_TF = {"mode": TERRAFORM}
_STRS = {"type": list[str] | None}
OPTIONS: tuple[Option, ...] = (
    _o("executable_path", "Hook executable (generic mode); relative paths start from the "
       "working directory.", None, "PATH", type=str | None, route="executable.path",
       mode=GENERIC, rule=rule.required_path("the hook to run", lambda at: rule.executable)),
    _o("handler_type", "Phase the executable handles: pre-handle, handle or post-handle.",
       "post-handle", "PHASE", route="match.phase", mode=GENERIC, rule=rule.phases),
    _o("tf_dir", "Terraform directory (Terraform mode).", None, "DIR", type=Path | None,
       route="terraform.dir", mode=TERRAFORM, rule=rule.required_path(
           "the Terraform directory to refresh", lambda at: at.probes.directory)),
    _o("addr", "unix:PATH, unix:///ABS, unix-abstract:NAME or HOST:PORT.", DEFAULT_ADDR, "ADDR"),
    _o("config_file", "Handler config YAML (exporter_config only).", None, "FILE",
       type=Path | None, flag="--config", rule=rule.handler_config, into="exporter"),
    _o("log_format", "logfmt or json.", "logfmt", "FORMAT", rule=rule.choice("logfmt", "json")),
    _o("log_level", "error, warn, info or debug.", "info", "LEVEL",
       rule=rule.choice("error", "warn", "info", "debug")),
    _o("timeout", "Stop a run after this long (500ms, 30s, 15m, 1h).", "15m", "DURATION",
       route="timeout", rule=rule.positive_duration),
    _o("kill_after", "SIGKILL this long after the stop signal.", "10s", "DURATION",
       route="kill_after", rule=rule.duration, stop=2),
    _o("grace", "On shutdown, let calls finish for this long.", "30s", "DURATION",
       rule=rule.duration, stop=1),
    _o("socket_mode", "Unix socket file mode (octal; default 0600); not for unix-abstract:.",
       None, "MODE", type=str | None, rule=rule.socket_mode),
    _o("admin_addr", "unix:PATH where the admin service (tfhook runs approve|deny|held) "
       "answers, for a server whose --addr is TCP or unix-abstract: (with --addr unix:PATH it "
       "answers there).", None, "ADDR", type=str | None, rule=rule.unix_socket),
    _o("terraform", "Terraform engine: auto, embedded or a path to terraform/tofu.", "auto",
       "ENGINE", route="terraform.terraform", into="engine", rule=rule.engine, **_TF),
    _o("on_result", "PostHandle result that triggers a refresh (repeatable): created, updated, "
       "deleted, no-change, unknown.", None, "RESULT", route="match.result", rule=rule.results,
       **_STRS, **_TF),
    _o("var_file", "Passed to Terraform (repeatable).", None, "FILE", type=list[Path] | None,
       route="terraform.var_file", into="var_files", rule=rule.var_files, **_TF),
    _o("var", "KEY=VALUE for Terraform (repeatable). Terraform gets it in a private file, but "
       "tfhook's own command line shows it to every local user: put secrets in --var-file "
       "or a routes file's var.", None, "KEY=VALUE", route="terraform.var", into="variables",
       rule=rule.variables, **_STRS, **_TF),
    _o("init", "Run terraform init at start.", False, type=bool, route="terraform.init",
       rule=rule.boolean, **_TF),
    _o("lock_timeout", "Wait this long for the state lock.", "60s", "DURATION",
       route="terraform.lock_timeout", rule=rule.duration, **_TF),
    _o("target_from_event", "Refresh only state resources whose id the event carries.", False,
       type=bool, route="terraform.target_from_event", rule=rule.boolean, **_TF),
    _o("on_failure", "fail: a failed refresh fails the call; warn: answer DONE and retry in "
       "background.", "fail", "POLICY", route="on_failure", rule=rule.choice("fail", "warn"),
       **_TF),
    _o("refresh_on_start", "Refresh once when the server starts.", False, type=bool,
       route="terraform.refresh_on_start", rule=rule.boolean, **_TF),
    _o("reconcile_every", "Refresh this often when no event came (e.g. 30m).", None, "DURATION",
       type=str | None, route="terraform.reconcile_every", rule=rule.optional_duration, **_TF),
    _o("max_state_removals", "Objects a refresh may remove from the state beyond those DELETED "
       "events name (more: the refresh is refused and changes nothing).", 0, "N", type=int,
       route="terraform.max_state_removals", rule=rule.count, **_TF),
    _o("converge", "Write what the autoscaler changed into a variables file tfhook owns, when a "
       "root variable is the attribute's whole value: {vars_file: NAME.auto.tfvars.json, "
       "commit: false} (route only; off by default).", flag=NO_FLAG, route="terraform.converge",
       rule=rule.converge),
    _o("check_revert", "Do not warn when the next apply would change back what a refresh "
       "recorded.", False, type=bool, flag="--no-check-revert", negate=True,
       route="terraform.check_revert", rule=rule.boolean, **_TF),
    _o("unexplained_drift", "apply: a refresh applies drift no event of its run explains, as "
       "any other; hold: keep its plan for an operator to approve or deny (tfhook runs).",
       "apply", "POLICY", route="terraform.unexplained_drift",
       rule=rule.choice(*UNEXPLAINED_DRIFT), **_TF),
    _o("warm_providers", "auto: start each provider of the directory once with -debug and "
       "reattach every Terraform command to it; off: Terraform starts them for each command.",
       "auto", "MODE", route="terraform.warm_providers", rule=rule.choice("auto", "off"),
       **_TF),
    _o("routes_file", "Routes file: several hooks, each with its match (SIGHUP reloads it).",
       None, "FILE", type=Path | None, flag="--routes", mode=ROUTES, rule=rule.path),
    _o("state_dir", "History directory (default $XDG_STATE_HOME/tfhook or "
       "~/.local/state/tfhook).", None, "DIR", type=Path | None,
       rule=rule.path_or(settings.state_dir), systemd="StateDirectory"),
    _o("history_keep", "Keep history this long (0: keep none).", "30d", "AGE", rule=rule.age),
    _o("history_url", "Keep the history in PostgreSQL, shared by a fleet of servers: "
       "postgresql://USER@HOST/DB (default $TFHOOK_HISTORY_URL; the password from "
       "$TFHOOK_HISTORY_PASSWORD or a libpq password file, never here; needs the postgres "
       "extra).", None, "URL",
       type=str | None, rule=rule.database),
    _o("held_keep", "Discard a held plan no operator decided after this long.", "7d", "AGE",
       rule=rule.age),
    _o("history_requests", "Keep each request in the history (redacted).", False, type=bool),
    _o("snapshots_keep", "Snapshots kept per Terraform directory: the state saved before each "
       "apply, in the state directory's snapshots/ (older than 30 days: removed; 0: take "
       "none).", 50, "N", type=int, rule=rule.count),
    _o("payload_argv", "The hook's argv[1]: redacted (the request without its secrets), none "
       "('-') or full (the whole request, as the reference: local users see its secrets in "
       "ps); stdin has it all.", "redacted", "MODE", route="executable.payload_argv",
       mode=GENERIC, rule=rule.choice(*PAYLOAD_ARGV)),
    _o("max_concurrency", "Hooks running at once; more calls wait (default: 4 per CPU).", None,
       "N", type=str | None, rule=rule.concurrency),
    _o("max_connection_idle", "Close a client connection with no call for this long (0: "
       "never).", "5m", "DURATION", rule=rule.duration),
    _o("notify_file", "Notification URLs for every route, one a line (apprise's: json://HOST/PATH, "
       "slack://..., mailto://...; needs the notify extra); TFHOOK_NOTIFY_URLS adds more. Never "
       "on the command line: URLs hold tokens.", None, "FILE", type=Path | None,
       rule=notify.urls_file, into="notify_urls"),
    _o("max_conversion_memory", "Memory requests in conversion may take at once; a larger one "
       "is refused.", "64MiB", "SIZE", rule=rule.size),
    _o("event_loop", "auto (uvloop when the fast extra is installed, else asyncio's), asyncio "
       "or uvloop.", "auto", "LOOP", rule=rule.choice("auto", "asyncio", "uvloop")),
    # Route only: what a routes file says that no flag does.
    _o("name", "The route's name: 1-64 letters, digits, '.', '_' or '-'; it labels the route's "
       "progress and errors (required).", flag=NO_FLAG, route="name", rule=rule.name),
    _o("parallel", "Run beside the other routes the call matches instead of in file order.",
       False, flag=NO_FLAG, route="parallel", rule=rule.boolean),
    _o("resource_type", "Resource types the route takes: server, server_group_instance, elb, "
       "gslb, dns, router, load_balancer.", flag=NO_FLAG, route="match.resource_type",
       rule=rule.resource_types),
    _o("resource_name", "Shell globs the resource's name must match.", flag=NO_FLAG,
       route="match.resource_name", rule=rule.globs),
    _o("source", "Shell globs the request's source must match.", flag=NO_FLAG,
       route="match.source", rule=rule.globs),
    _o("notify", "Tell people when the route starts failing, recovers, holds a plan, refuses a "
       "removal or would be reverted, once each: a list of apprise URLs, or {urls: [...], on: "
       "[failing, recovered, held, revert, drift, refused]} (a list: all but drift).",
       flag=NO_FLAG, route="notify", rule=notify.route),
    _o("instruction", "PreHandle/Handle instructions the route takes: create, update, delete, "
       "noop, unknown.", flag=NO_FLAG, route="match.instruction", rule=rule.instructions),
)
BY_KEY = {option.key: option for option in OPTIONS}
FLAGS = tuple(option for option in OPTIONS if option.cli)


def in_section(section: str) -> tuple[Option, ...]:
    """The options of one section of a route (`terraform`, `executable`, `match`)."""
    return tuple(option for option in OPTIONS if option.route and option.section == section)


def filling(field: str) -> Option:
    """The option that fills the record's `field` (`var_files`: the route's `var_file`), for
    messages that name what the user wrote."""
    return next(option for option in OPTIONS if option.route and option.field == field)


def in_systemd(directory: str) -> tuple[Option, ...]:
    """The server flags a systemd unit gives `directory` (StateDirectory: /var/lib/NAME)."""
    return tuple(option for option in OPTIONS if option.systemd == directory)


def stop_steps() -> tuple[Option, ...]:
    """The server flags that bound how long a stop takes, in the order of a stop."""
    return tuple(sorted((option for option in OPTIONS if option.stop), key=lambda o: o.stop))


def given(values: Mapping[str, Any], explicit: Collection[str] | None = None) -> list[Option]:
    """The flags given, in table order: those in `explicit` (the keys the command line
    named, whatever their value); without it, those whose value differs from the default."""
    if explicit is not None:
        return [option for option in FLAGS if option.key in explicit]
    return [option for option in FLAGS
            if values.get(option.key, option.default) not in (option.default, [])]


def reference() -> str:
    """docs/options.md: every option, from this table (`make options-doc` writes it)."""
    lines = ["# Options", "", "Written from `tfhook/config/options.py` by `make options-doc`; "
             "a test fails when it differs.", "",
             "| key | flag | routes file | where | default | value | what |",
             "|---|---|---|---|---|---|---|"]
    for option in OPTIONS:
        flag = f"`{option.cli}`" if option.cli else ""
        route = f"`{option.route}`" if option.route else ""
        default = "" if option.default is None or option.default is False else f"`{option.default}`"
        text = option.help.replace("|", "\\|")
        lines.append(f"| `{option.key}` | {flag} | {route} | {option.scope} | {default} | "
                     f"{option.metavar} | {text} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
