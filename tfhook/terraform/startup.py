"""Start-up checks: fail fast, in one line, on what would make every refresh fail."""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Callable
from pathlib import Path

from tfhook.errors import UserError
from tfhook.process import spawn as process
from tfhook.terraform import commands
from tfhook.terraform.events import Diagnostic, Report
from tfhook.terraform.planfiles import VARIABLES

# The start-up plan targets a resource no module has, so it plans nothing: Terraform still
# loads the configuration, the variables and the backend's state, but configures no
# provider and reads no data source (the cloud may be slow or down at start).
NOTHING = "terraform_data.tfhook_start_up_check_plans_nothing"
# Errors the fix for is a --var or --var-file, not the .tf files.
_VARIABLE_ERRORS = {"Value for undeclared variable", "No value for required variable",
                    "Invalid value for input variable"}


Label = Callable[[str], str]  # how messages name a field: `dir` → its flag, or a file's


def as_is(name: str) -> str:
    """The Label of a target made without a hook: a field is named by its key."""
    return name


def directory_problem(where: Path) -> str | None:
    """What keeps Terraform from working in a directory at all, or None."""
    if not where.is_dir():
        return f"{where} is not a directory"
    if not any(where.glob("*.tf")) and not any(where.glob("*.tf.json")):
        return f"{where} has no .tf files"
    return None


def init_hint(where: Path, label: Label) -> str:
    return f"run `{commands.for_person(where, commands.init(automation=False))}` " \
        f"(or {label('init_hint')})"


def init_failure(output: bytes, exit_: process.Exit, most: int = 4000) -> str:
    """Terraform's own message for a failed init, whole: its errors (stderr), else what it
    printed; one line, Terraform's wrapping undone."""
    text = exit_.stderr.decode("utf-8", "replace").strip()
    if not text:
        text = output.decode("utf-8", "replace").strip() or exit_.describe()
    text = " ".join(text.split())
    return text if len(text) <= most else "…" + text[-most:]


def not_terraform(engine: str, label: Label) -> UserError:
    return UserError(f"{label('terraform')}: {engine} did not answer `version -json` like "
                     "Terraform (is it terraform or tofu?)")


def plan_error(where: Path, report: Report, exit_: process.Exit, label: Label
               ) -> UserError | None:
    """The start-up error from the plan's report, or None when the plan succeeded.

    A module that needs no provider, module or backend has no .terraform directory even
    after init, so "initialised" is Terraform's own verdict, not a directory test.
    """
    errors = report.errors
    if not errors:
        undeclared = _undeclared(report)
        if undeclared is not None:
            return UserError(f"{label('var')}: {undeclared}")
        if exit_.returncode == 0:
            return None
        shown = exit_.stderr_tail(3) or " ".join(report.other[-3:]) or exit_.describe()
        return UserError(f"{label('dir')}: terraform plan failed in {where}: {shown}")
    first = errors[0]
    text = f"{first.summary} {first.detail}".lower()
    # "terraform init" as words: a name like var.initial_plan must not read as "run init".
    if ("terraform init" in text or "not installed" in text
            or "missing required provider" in text):
        return UserError(f"{label('dir')}: {where} is not initialised ({first.summary}); "
                         + init_hint(where, label))
    more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
    if first.summary in _VARIABLE_ERRORS:
        return UserError(f"{label('var')}: {_one_line(first)}{more}")
    return UserError(f"{label('dir')}: {where}: invalid configuration: {_one_line(first)}{more}")


def _undeclared(report: Report) -> str | None:
    """`var` values no variable takes. Terraform refuses such a `-var` but only warns about
    one in a file: the file of `var` values (planfiles) must fail as `-var` did."""
    names = [found.group(1) for diag in report.warnings
             if diag.summary == "Value for undeclared variable"
             and f'{VARIABLES}"' in diag.detail
             for found in [re.search(r'variable named "(.*?)"', diag.detail)] if found]
    if not names:
        return None
    return ("Value for undeclared variable: the root module declares no variable named "
            + ", ".join(f'"{name}"' for name in names))


def _one_line(diag: Diagnostic, most: int = 300) -> str:
    detail = " ".join(diag.detail.split())
    if len(detail) > most:
        detail = detail[:most - 3] + "..."
    where = f" at {diag.where}" if diag.where else ""
    return f"{diag.summary}{where}" + (f": {detail}" if detail else "")


_INIT_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
    weakref.WeakKeyDictionary()


def init_lock() -> asyncio.Lock:
    """The lock that serialises `terraform init` in this event loop (all routes)."""
    return _INIT_LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())
