"""Terraform commands of a refresh: their command lines, the children streaming Terraform's
`-json` events, the failure."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from tfhook.core.hooks import Limits, TerraformAction
from tfhook.core.model import Status, Update
from tfhook.errors import ActionFailed
from tfhook.process import spawn as process
from tfhook.terraform import commands, diagnostics, planfiles, startup
from tfhook.terraform.engine import Engine
from tfhook.terraform.events import Report
from tfhook.terraform.snapshots import Keeper

PROGRESS_EVERY = 1.0  # seconds between RUNNING messages: a big state must not flood
# What a person runs to see whether the state lock is held, and to release it.
_CHECK = commands.plan(commands.PlanOptions(lock_timeout=0, automation=False))
_RELEASE = commands.force_unlock("ID")


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how Terraform runs for one directory."""

    action: TerraformAction
    engine: Engine
    env: Mapping[str, str]
    limits: Limits
    label: startup.Label = startup.as_is  # how messages name a field (the hook's label)
    snapshots: Keeper | None = None  # where the state is saved before each write (None: not)
    suggestions: Path | None = None  # where converge keeps a run's suggested change (#22)

    def var_files(self, variables: Path | None) -> tuple[Path, ...]:
        """The route's `var_files`, then `variables`, the file of its `variables` values,
        which the files before it do not override: it stands where `-var` flags would."""
        return (*self.action.var_files, *(() if variables is None else (variables,)))

    def variables(self, where: str) -> Path | None:
        """Write the `var` values to a private file in the plan directory `where`."""
        return planfiles.write_variables(Path(where), self.action.variables)

    def spec(self, args: list[str], name: str) -> process.Spec:
        """A child running the engine with `args` in the directory, stopped with SIGINT."""
        return process.Spec(argv=[*self.engine.argv, *args], name=name, env=self.env,
                            cwd=self.action.dir, limits=self.limits, stop_signal=signal.SIGINT,
                            command=commands.named(args),
                            if_killed=(
                                "a Terraform killed this way may leave its state lock held: "
                                f"check with `{commands.for_person(self.action.dir, _CHECK)}` "
                                "(it fails at once, with the lock's ID, while the lock is held) "
                                "and release it with "
                                f"`{commands.for_person(self.action.dir, _RELEASE)}` once no "
                                "Terraform runs on that state"))

    def plan_argv(self, targets: list[str], out: Path, variables: Path | None = None
                  ) -> list[str]:
        """The saved refresh-only plan that is checked, then applied (#12)."""
        return commands.plan(commands.PlanOptions(
            refresh_only=True, out=out, lock_timeout=self.action.lock_timeout,
            targets=targets, var_files=self.var_files(variables)))

    def apply_argv(self, plan_file: Path) -> list[str]:
        """Apply exactly the saved plan that was checked (no variables: they are in it)."""
        return commands.apply(commands.ApplyOptions(plan_file, lock_timeout=self.action.lock_timeout))

    def push_argv(self, state_file: Path) -> list[str]:
        """Push `state_file` as the directory's state (a rollback), waiting for its lock."""
        return commands.state_push(state_file, lock_timeout=self.action.lock_timeout)

    def revert_argv(self, targets: list[str], out: Path, variables: Path | None = None
                    ) -> list[str]:
        """A plan that refreshes nothing: what the configuration would change back."""
        return commands.plan(commands.PlanOptions(
            refresh=False, out=out, lock_timeout=self.action.lock_timeout, targets=targets,
            var_files=self.var_files(variables)))

    def check_argv(self, variables: Path | None = None) -> list[str]:
        """The start-up plan of nothing, with our variables (startup.NOTHING)."""
        return commands.plan(commands.PlanOptions(refresh=False, lock=False,
                                           targets=[startup.NOTHING],
                                           var_files=self.var_files(variables)))


async def stream(target: Target, publish: Callable[[Update], None], report: Report,
                 args: list[str], title: str) -> None:
    """Run one Terraform command, feeding `report` and publishing its progress (to a
    batch); raise on failure."""
    spec = replace(target.spec(args, f"terraform in {target.action.dir}"),
                   read_every=PROGRESS_EVERY)  # progress goes out once a second anyway (#9)
    publish(Update(Status.RUNNING, f"{title} in {target.action.dir} "
                                         f"({target.engine.describe()})"))
    pending: list[str] = []
    flushed = time.monotonic()
    async with process.Child(spec) as child:
        async for line in child.lines():
            progress = report.feed(line)
            if progress:
                pending.append(progress)
            if pending and time.monotonic() - flushed >= PROGRESS_EVERY:
                publish(Update(Status.RUNNING, batch_text(pending)))
                pending, flushed = [], time.monotonic()
        exit_ = await child.wait()
    if pending:
        publish(Update(Status.RUNNING, batch_text(pending)))
    if exit_.returncode != 0:
        raise failure(target, report, exit_)


async def show(target: Target, plan_file: Path) -> tuple[bytes, process.Exit]:
    """`terraform show -json FILE`: the saved plan as JSON."""
    return await process.capture(target.spec(commands.show(plan_file), "terraform show"))


def failure(target: Target, report: Report, exit_: process.Exit) -> ActionFailed:
    """The error of a failed run: a lock another client holds, or Terraform's diagnostics."""
    waited = f"{target.label('lock_timeout')} {commands.duration(target.action.lock_timeout)}"
    return diagnostics.failure(target.action.dir, waited, report, exit_)


def batch_text(lines: list[str], most: int = 20) -> str:
    """Progress lines for one RUNNING message: the last `most`, saying how many were left out."""
    shown = lines[-most:]
    skipped = len(lines) - len(shown)
    return "\n".join(([f"... {skipped} earlier progress lines"] if skipped else []) + shown)
