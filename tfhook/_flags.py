"""`serve`'s single-hook flags (--executable-path, --tf-dir and theirs) as one hook.

The simplest case of the routes file: what the flags name here, a route names in its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tfhook import config
from tfhook.errors import UserError
from tfhook.hooks import AFTER_CHANGE, CHANGED, ExecutableAction, Hook, Match, TerraformAction
from tfhook.model import Phase, Result

GENERIC_ONLY = ("--handler-type",)
# How messages name a hook's fields when the hook came from flags.
LABELS = {"dir": "--tf-dir", "var": "--var/--var-file", "init": "--init",
          "terraform": "--terraform", "lock_timeout": "--lock-timeout",
          "path": "--executable-path", "init_hint": "start with --init"}
RESULT_NAMES = {r.name.lower().replace("_", "-"): r for r in Result}


def check_mode_flags(*, terraform_mode: bool, given: Mapping[str, bool]) -> None:
    """Refuse flags of the other mode: silently ignoring them would hide a mistake."""
    used = [flag for flag, was_given in given.items() if was_given]
    if terraform_mode:
        wrong = [flag for flag in used if flag in GENERIC_ONLY]
        if wrong:
            raise UserError(f"{', '.join(wrong)}: only for --executable-path; Terraform mode "
                            "refreshes after PostHandle (choose results with --on-result)")
        return
    wrong = [flag for flag in used if flag not in GENERIC_ONLY]
    if wrong:
        raise UserError(f"{', '.join(wrong)}: only for Terraform mode (--tf-dir)")


def executable_hook(path: str, phase: Phase, limits: config.Limits) -> Hook:
    """Generic mode: the executable, for one phase, like the reference handler."""
    try:
        resolved = config.resolve_executable(path)
    except UserError as exc:
        raise UserError(f"--executable-path: {exc}") from None
    return Hook("executable", ExecutableAction(resolved), Match(phase=frozenset({phase})),
                timeout=limits.timeout, kill_after=limits.kill_after, labels=LABELS)


def terraform_hook(
    tf_dir: Path, *, engine: str, on_result: list[str], var_files: list[Path],
    variables: list[str], init: bool, lock_timeout: str, target_from_event: bool,
    on_failure: str, refresh_on_start: bool, reconcile_every: str | None,
    limits: config.Limits,
) -> Hook:
    """Terraform mode: refresh one directory after PostHandle with one of `on_result`."""
    if on_failure not in ("fail", "warn"):
        raise UserError(f"--on-failure: {on_failure!r} is not one of fail, warn")
    for path in var_files:
        if not path.is_file():
            raise UserError(f"--var-file: {path} is not a readable file")
    action = TerraformAction(
        dir=tf_dir.absolute(), engine=engine,
        var_files=tuple(p.absolute() for p in var_files), variables=_pairs(variables),
        init=init, lock_timeout=config.parse_duration(lock_timeout, flag="--lock-timeout"),
        target_from_event=target_from_event, refresh_on_start=refresh_on_start,
        reconcile_every=(config.parse_duration(reconcile_every, flag="--reconcile-every")
                         if reconcile_every else None),
    )
    match = Match(phase=AFTER_CHANGE.phase, result=frozenset(_results(on_result)) or CHANGED)
    return Hook("terraform", action, match, timeout=limits.timeout,
                kill_after=limits.kill_after, on_failure=on_failure, labels=LABELS)


def _results(names: list[str]) -> set[int]:
    results = set()
    for name in names:
        key = name.strip().lower().replace("_", "-")
        if key not in RESULT_NAMES:
            raise UserError(f"--on-result: {name!r} is not one of {', '.join(RESULT_NAMES)}")
        results.add(int(RESULT_NAMES[key]))
    return results


def _pairs(variables: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in variables:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--var: {item!r} must be KEY=VALUE")
        pairs.append((key, value))
    return tuple(pairs)
