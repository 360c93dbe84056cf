"""How `--help` names option values and groups `serve`'s options: words, not Python types."""

from __future__ import annotations

import copy
from typing import Any

from typer.core import TyperCommand, TyperGroup

GENERIC = "Generic mode (--executable-path)"
TERRAFORM = "Terraform mode (--tf-dir)"
ROUTES = "Several hooks (--routes)"
# What each option's value is called in --help. typer would show the Python type
# (<str>, <list[Path]>, and <bool> for flags): flags show nothing, the rest these words.
METAVARS = {
    "executable_path": "PATH", "handler_type": "PHASE", "tf_dir": "DIR", "addr": "ADDR",
    "config_file": "FILE", "log_format": "FORMAT", "log_level": "LEVEL",
    "timeout": "DURATION", "kill_after": "DURATION", "grace": "DURATION",
    "socket_mode": "MODE", "terraform": "ENGINE", "on_result": "RESULT", "var_file": "FILE",
    "var": "KEY=VALUE", "lock_timeout": "DURATION", "on_failure": "POLICY",
    "reconcile_every": "DURATION", "directory": "DIR", "kind": "KIND", "name": "NAME",
    "tfhook_path": "PATH", "routes_file": "FILE", "state_dir": "DIR", "history_keep": "AGE",
    "payload_argv": "MODE", "max_concurrency": "N", "max_connection_idle": "DURATION",
    "max_conversion_memory": "SIZE",
    "from_json": "FILE", "replay": "ID", "resource_type": "TYPE", "resource_name": "NAME",
    "resource_id": "ID", "parent_id": "ID", "parent_type": "TYPE", "job_id": "ID", "job": "ID",
    "route": "NAME", "limit": "N", "since": "DURATION", "item": "ID", "file": "FILE",
    "max_state_removals": "N",
}
# `tfhook serve --help` shows the options of each mode in their own panel; options that
# are in neither work in both modes.
PANELS = {
    "serve": {
        "routes_file": ROUTES, "executable_path": GENERIC, "handler_type": GENERIC,
        "payload_argv": GENERIC,
        **dict.fromkeys(("tf_dir", "terraform", "on_result", "var_file", "var", "init",
                         "lock_timeout", "target_from_event", "on_failure",
                         "refresh_on_start", "reconcile_every", "max_state_removals",
                         "no_check_revert"), TERRAFORM),
    },
}


def _label(param: Any, command: str | None) -> None:
    if param.param_type_name == "argument":
        # An argument's help has a type column besides its name, and no metavar for it:
        # typer shows what the type's get_metavar says, or `<type name>` when it says None.
        param.display_type_rich = lambda ctx: None
        param.type = copy.copy(param.type)
        param.type.get_metavar = lambda *args, **kwargs: ""
        _plain_usage(param)
    if getattr(param, "is_flag", False):
        param.metavar = ""
    elif param.metavar is None:
        param.metavar = METAVARS.get(param.name or "", (param.name or "VALUE").upper())
    panel = PANELS.get(command or "", {}).get(param.name or "")
    if panel is not None:
        param.rich_help_panel = panel


def _plain_usage(argument: Any) -> None:
    """`FILE` for a required argument and `[DIR]` for an optional one, as click and most
    tools write them (typer writes a required one `{FILE}`)."""
    word = METAVARS.get(argument.name or "", (argument.name or "VALUE").upper())
    argument.metavar = word
    argument.make_metavar = lambda ctx, *, usage=False: (
        f"[{word}]" if usage and not argument.required else word)


class Command(TyperCommand):
    """A typer command whose help names values by what they are (see METAVARS, PANELS)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:
            _label(param, self.name)
        return params


class Group(TyperGroup):
    """The top-level command, labelled the same way."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:
            _label(param, None)
        return params
