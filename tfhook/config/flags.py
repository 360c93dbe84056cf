"""`serve`'s single-hook flags (--executable-path, --tf-dir and theirs) as one hook.

The simplest case of the routes file: what the flags name here, a route names in its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tfhook.config import routes
from tfhook.config import settings as config
from tfhook.core.hooks import (
    AFTER_CHANGE,
    CHANGED,
    PAYLOAD_ARGV,
    ExecutableAction,
    Hook,
    Match,
    TerraformAction,
)
from tfhook.core.model import Phase, Result
from tfhook.errors import UserError

GENERIC_ONLY = ("--handler-type", "--payload-argv")
# How messages name a hook's fields when the hook came from flags.
LABELS = {"dir": "--tf-dir", "var": "--var/--var-file", "init": "--init",
          "terraform": "--terraform", "lock_timeout": "--lock-timeout",
          "max_state_removals": "--max-state-removals",
          "path": "--executable-path", "init_hint": "start with --init"}
RESULT_NAMES = {r.name.lower().replace("_", "-"): r for r in Result}


@dataclass(frozen=True, slots=True)
class HookFlags:
    """`serve`'s flags that say what runs: one of three modes, and the Terraform options."""

    executable_path: str | None
    handler_type: str
    tf_dir: Path | None
    routes_file: Path | None
    terraform: str
    on_result: list[str]
    var_file: list[Path]
    var: list[str]
    init: bool
    lock_timeout: str
    target_from_event: bool
    on_failure: str
    refresh_on_start: bool
    reconcile_every: str | None
    payload_argv: str = "redacted"
    max_state_removals: int = 0
    check_revert: bool = True

    def given(self) -> dict[str, bool]:
        """Which mode-specific flags differ from their defaults."""
        return {
            "--handler-type": self.handler_type != "post-handle",
            "--payload-argv": self.payload_argv != "redacted",
            "--terraform": self.terraform != "auto", "--on-result": bool(self.on_result),
            "--var-file": bool(self.var_file), "--var": bool(self.var), "--init": self.init,
            "--lock-timeout": self.lock_timeout != "60s",
            "--target-from-event": self.target_from_event,
            "--on-failure": self.on_failure != "fail",
            "--refresh-on-start": self.refresh_on_start,
            "--reconcile-every": bool(self.reconcile_every),
            "--max-state-removals": self.max_state_removals != 0,
            "--no-check-revert": not self.check_revert,
        }


def hooks(flags: HookFlags, limits: config.Limits) -> tuple[tuple[Hook, ...], bool]:
    """The hooks, and whether an event none takes is announced (IGNORED); `limits` are
    --timeout and --kill-after (with --routes: for the routes that set none)."""
    phases = {phase.value: phase for phase in Phase}
    phase = phases.get(flags.handler_type)
    if phase is None:
        raise UserError(f"--handler-type: {flags.handler_type!r} is not one of "
                        f"{', '.join(phases)}")
    if [flags.executable_path, flags.tf_dir, flags.routes_file].count(None) != 2:
        raise UserError("give exactly one of --executable-path (generic), --tf-dir "
                        "(Terraform) or --routes FILE (several hooks)")
    if flags.routes_file is not None:
        wrong = [flag for flag, was_given in flags.given().items() if was_given]
        if wrong:
            raise UserError(f"{', '.join(wrong)}: with --routes, set it in the routes file")
        return routes.load(flags.routes_file, limits), True
    check_mode_flags(terraform_mode=flags.tf_dir is not None, given=flags.given())
    if flags.executable_path is not None:  # the reference: other phases get an empty stream
        return (executable_hook(flags.executable_path, phase, limits, flags.payload_argv),), False
    assert flags.tf_dir is not None
    return (terraform_hook(
        flags.tf_dir, engine=flags.terraform, on_result=flags.on_result,
        var_files=flags.var_file, variables=flags.var, init=flags.init,
        lock_timeout=flags.lock_timeout, target_from_event=flags.target_from_event,
        on_failure=flags.on_failure, refresh_on_start=flags.refresh_on_start,
        reconcile_every=flags.reconcile_every, limits=limits,
        max_state_removals=flags.max_state_removals, check_revert=flags.check_revert),), True


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


def executable_hook(path: str, phase: Phase, limits: config.Limits,
                    payload_argv: str = "redacted") -> Hook:
    """Generic mode: the executable, for one phase, like the reference handler."""
    if payload_argv not in PAYLOAD_ARGV:
        raise UserError(f"--payload-argv: {payload_argv!r} is not one of "
                        f"{', '.join(PAYLOAD_ARGV)}")
    try:
        resolved = config.resolve_executable(path)
    except UserError as exc:
        raise UserError(f"--executable-path: {exc}") from None
    return Hook("executable", ExecutableAction(resolved, payload_argv), Match(phase=frozenset({phase})),
                timeout=limits.timeout, kill_after=limits.kill_after, labels=LABELS)


def terraform_hook(
    tf_dir: Path, *, engine: str, on_result: list[str], var_files: list[Path],
    variables: list[str], init: bool, lock_timeout: str, target_from_event: bool,
    on_failure: str, refresh_on_start: bool, reconcile_every: str | None,
    limits: config.Limits, max_state_removals: int = 0, check_revert: bool = True,
) -> Hook:
    """Terraform mode: refresh one directory after PostHandle with one of `on_result`."""
    if on_failure not in ("fail", "warn"):
        raise UserError(f"--on-failure: {on_failure!r} is not one of fail, warn")
    if max_state_removals < 0:
        raise UserError(f"--max-state-removals: must be 0 or more (got {max_state_removals})")
    for path in var_files:
        if not path.is_file():
            raise UserError(f"--var-file: {path} is not a readable file")
    action = TerraformAction(
        dir=tf_dir.absolute(), engine=engine,
        var_files=tuple(p.absolute() for p in var_files), variables=_pairs(variables),
        init=init, lock_timeout=config.parse_duration(lock_timeout, name="--lock-timeout"),
        target_from_event=target_from_event, refresh_on_start=refresh_on_start,
        reconcile_every=(config.parse_duration(reconcile_every, name="--reconcile-every")
                         if reconcile_every else None),
        max_state_removals=max_state_removals, check_revert=check_revert,
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
