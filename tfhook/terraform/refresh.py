"""One refresh: the command line, the child streaming Terraform's `-json` events, the failure."""

from __future__ import annotations

import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from python_terraform import IsFlagged, Terraform

from tfhook import process
from tfhook.errors import ActionFailed
from tfhook.flight import Batch
from tfhook.hooks import TerraformAction
from tfhook.model import Status, Update
from tfhook.terraform import diagnostics
from tfhook.terraform.engine import Engine
from tfhook.terraform.events import Report

PROGRESS_EVERY = 1.0  # seconds between RUNNING messages: a big state must not flood


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how Terraform runs for one directory."""

    action: TerraformAction
    engine: Engine
    env: Mapping[str, str]
    timeout: float
    kill_after: float
    lock_label: str = "lock_timeout"  # how messages name the lock timeout (a flag, a field)

    def command(self, name: str, **options: object) -> list[str]:
        """Arguments of `terraform NAME`: JSON, no input, the options, our variables."""
        options.update(input=False, json=IsFlagged,
                       var_file=[str(p) for p in self.action.var_files],
                       var=[f"{key}={value}" for key, value in self.action.variables])
        command = Terraform(terraform_bin_path="terraform").generate_cmd_string(name, **options)
        return list(command[1:])

    def spec(self, args: list[str], name: str) -> process.Spec:
        """A child running the engine with `args` in the directory, stopped with SIGINT."""
        return process.Spec(argv=[*self.engine.argv, *args], name=name, env=self.env,
                            cwd=self.action.dir, timeout=self.timeout,
                            kill_after=self.kill_after, stop_signal=signal.SIGINT)

    def apply_argv(self, targets: list[str]) -> list[str]:
        """The command line of one refresh."""
        return [*self.engine.argv, *self.command(
            "apply", refresh_only=IsFlagged, auto_approve=IsFlagged,
            lock_timeout=duration(self.action.lock_timeout), target=targets)]


async def apply(target: Target, batch: Batch, targets: list[str]) -> tuple[Report, float]:
    """Run one `apply -refresh-only`, publishing progress to the batch; raise on failure."""
    spec = replace(target.spec(target.apply_argv(targets)[len(target.engine.argv):],
                               f"terraform in {target.action.dir}"),
                   read_every=PROGRESS_EVERY)  # progress goes out once a second anyway (#9)
    report, started = Report(), time.monotonic()
    batch.publish(Update(Status.RUNNING, f"terraform apply -refresh-only in "
                                         f"{target.action.dir} ({target.engine.describe()})"))
    pending: list[str] = []
    flushed = time.monotonic()
    async with process.Child(spec) as child:
        async for line in child.lines():
            progress = report.feed(line)
            if progress:
                pending.append(progress)
            if pending and time.monotonic() - flushed >= PROGRESS_EVERY:
                batch.publish(Update(Status.RUNNING, batch_text(pending)))
                pending, flushed = [], time.monotonic()
        exit_ = await child.wait()
    if pending:
        batch.publish(Update(Status.RUNNING, batch_text(pending)))
    if exit_.returncode != 0:
        raise failure(target, report, exit_)
    return report, time.monotonic() - started


def failure(target: Target, report: Report, exit_: process.Exit) -> ActionFailed:
    """The error of a failed run: a lock another client holds, or Terraform's diagnostics."""
    waited = f"{target.lock_label} {duration(target.action.lock_timeout)}"
    return diagnostics.failure(target.action.dir, waited, report, exit_)


def duration(seconds: float) -> str:
    """A duration Terraform's flags accept: whole seconds or milliseconds, never 1e+06s."""
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def batch_text(lines: list[str], most: int = 20) -> str:
    """Progress lines for one RUNNING message: the last `most`, saying how many were left out."""
    shown = lines[-most:]
    skipped = len(lines) - len(shown)
    return "\n".join(([f"... {skipped} earlier progress lines"] if skipped else []) + shown)
