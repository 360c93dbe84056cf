"""Every Terraform command line tfhook runs or tells a person to run, built from typed options.

One function per command, as hashicorp/terraform-exec has them (`buildPlanArgs` in
tfexec/plan.go): it takes the command's options and returns the arguments that follow the
engine (terraform, tofu or the embedded one). tests/terraform/test_terraform_commands.py asserts each
argv, order included, without running Terraform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Options of `terraform plan`."""

    refresh_only: bool = False  # -refresh-only: what the cloud changed, nothing else
    refresh: bool = True  # False: -refresh=false (plans from the state as it is)
    lock: bool = True  # False: -lock=false
    out: Path | None = None  # -out=FILE: the saved plan
    lock_timeout: float | None = None  # seconds; -lock-timeout=DURATION
    targets: Sequence[str] = ()  # -target=ADDRESS each
    automation: bool = True  # -input=false -json: no prompt, Terraform's JSON events
    var_files: Sequence[Path] = ()  # -var-file=FILE each, in this order (later ones win)


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """Options of `terraform apply`."""

    plan_file: Path | None = None  # the saved plan to apply exactly (its variables are in it)
    lock_timeout: float | None = None  # seconds; -lock-timeout=DURATION
    automation: bool = True  # -input=false -json


def plan(options: PlanOptions) -> list[str]:
    """`terraform plan` with `options`."""
    args = ["plan"]
    if options.refresh_only:
        args.append("-refresh-only")
    if not options.refresh:
        args.append("-refresh=false")
    if not options.lock:
        args.append("-lock=false")
    if options.out is not None:
        args.append(f"-out={options.out}")
    args += _lock_timeout(options.lock_timeout)
    args += [f"-target={address}" for address in options.targets]
    if options.automation:
        args += ["-input=false", "-json"]
    return args + [f"-var-file={path}" for path in options.var_files]


def apply(options: ApplyOptions) -> list[str]:
    """`terraform apply` with `options` (with a plan file: exactly that plan)."""
    args = ["apply"]
    if options.automation:
        args += ["-input=false", "-json"]
    args += _lock_timeout(options.lock_timeout)
    return args + ([] if options.plan_file is None else [str(options.plan_file)])


def show(plan_file: Path) -> list[str]:
    """`terraform show`: a saved plan as JSON."""
    return ["show", "-json", "-no-color", str(plan_file)]


def init(*, automation: bool = True) -> list[str]:
    """`terraform init` (automation: no prompt, no colours in the output tfhook reports)."""
    return ["init", "-input=false", "-no-color"] if automation else ["init"]


def version() -> list[str]:
    """`terraform version` as JSON (`terraform_version`)."""
    return ["version", "-json"]


def state_pull() -> list[str]:
    """`terraform state pull`: the state document a configured backend holds."""
    return ["state", "pull"]


def state_push(state_file: Path, *, lock_timeout: float | None = None) -> list[str]:
    """`terraform state push FILE`: write a state document to the backend (a rollback). Never
    -force: Terraform refuses another lineage, or a serial not above the current one."""
    return ["state", "push", *_lock_timeout(lock_timeout), str(state_file)]


def state_rm(address: str) -> list[str]:
    """`terraform state rm`: forget an object (told to a person, never run by tfhook)."""
    return ["state", "rm", address]


def force_unlock(lock_id: str) -> list[str]:
    """`terraform force-unlock`: release a held lock (told to a person; Terraform asks them
    to confirm)."""
    return ["force-unlock", lock_id]


def environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment Terraform runs in: no checkpoint (a version check over the network on
    every run) unless `base` asks for it; automation mode and no input, whatever `base` says."""
    return {"CHECKPOINT_DISABLE": "1", **base, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


def for_person(where: Path, args: Sequence[str]) -> str:
    """A command line a person runs in a shell: `tfhook terraform -chdir=DIR ARGS`."""
    return " ".join(["tfhook", "terraform", f"-chdir={where}", *args])


def named(args: Sequence[str]) -> str:
    """The command `args` run, without its options or files: `terraform state pull` (a
    trace's name for the child; its arguments can name secret files)."""
    words = args[:2] if args[:1] == ["state"] else args[:1]  # `state` has subcommands
    return " ".join(["terraform", *words])


def duration(seconds: float) -> str:
    """A duration Terraform's flags accept: whole seconds or milliseconds, never 1e+06s."""
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def _lock_timeout(seconds: float | None) -> list[str]:
    return [] if seconds is None else [f"-lock-timeout={duration(seconds)}"]
