"""Terraform mode: `apply -refresh-only` per event, single flight per directory, readable
progress and results, failure policy, start-up refresh and reconciliation."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import structlog
from python_terraform import IsFlagged, Terraform

from tfhook import process
from tfhook.config import Settings
from tfhook.errors import ActionFailed, LockHeld, UserError
from tfhook.flight import Batch, Flight
from tfhook.model import Action, Event, Status, Update
from tfhook.terraform import engine as engines
from tfhook.terraform import startup, state
from tfhook.terraform.events import Report, listing

log = structlog.get_logger("tfhook.terraform")
PROGRESS_EVERY = 1.0  # seconds between RUNNING messages: a big state must not flood
RETRY_FIRST, RETRY_MAX = 2.0, 300.0
# Terraform's warnings on every targeted run; the DONE summary has its own caveat note.
TARGETING_WARNINGS = frozenset({"Resource targeting is in effect",
                                "Applied changes may be incomplete"})


class TerraformRunner:
    """Refreshes one Terraform directory; every run goes through one Flight."""

    def __init__(self, settings: Settings) -> None:
        assert settings.terraform is not None
        self.settings = settings
        self.tf = settings.terraform
        # No checkpoint (version check over the network) on every run, unless asked for.
        self.env = {"CHECKPOINT_DISABLE": "1", **settings.env,
                    "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        self.engine = engines.choose(self.tf.engine, self.env)
        self.flight = Flight(self._work)
        self._tasks: set[asyncio.Task[None]] = set()
        self._retry: asyncio.Task[None] | None = None
        self._failing = False
        self._closed = False
        self._last_run = time.monotonic()

    async def start(self) -> None:
        startup.check_directory(self.tf)
        if self.tf.init:
            found = await self._version()
            await self._init()
            await self._check_plan()
        else:
            # The engine's two start-up commands need nothing from each other: run them
            # at once. What the version says decides first (a plan of something that is
            # not Terraform fails too). (#9)
            version, plan = await asyncio.gather(
                self._version(), self._check_plan(), return_exceptions=True)
            for outcome in (version, plan):
                if isinstance(outcome, BaseException):
                    raise outcome
            assert isinstance(version, tuple)
            found = version
        self._log_engine(found)  # only once started: a start-up error is the one line
        if self.tf.refresh_on_start:
            self.flight.submit("refresh on start", background=True)
        if self.tf.reconcile_every:
            self._spawn(self._reconcile(self.tf.reconcile_every))

    async def close(self) -> None:
        self._closed = True  # no retry may start from a run that close() cancels
        for task in list(self._tasks):
            task.cancel()
        await self.flight.close()

    async def run(self, action: Action) -> AsyncIterator[Update]:
        try:
            async for item in self.flight.join(action.event):
                if isinstance(item, str):
                    yield Update(Status.ACCEPTED, item)
                else:
                    yield item
        except ActionFailed as exc:
            if self.tf.on_failure != "warn" or self._closed:
                raise
            log.warning("terraform refresh failed; the call answers DONE (--on-failure warn)",
                        error=str(exc))
            self._schedule_retry()
            yield Update(Status.DONE, f"terraform refresh FAILED (--on-failure warn; the "
                         f"scaling job is not failed, retrying in background): {exc}")

    # -- one run -------------------------------------------------------------------

    async def _work(self, batch: Batch) -> Update:
        try:
            return await self._refresh(batch)
        finally:
            # Also when the run failed before Terraform started (a state pull that timed
            # out): reconcile waits from here, it must not fire again at once.
            self._last_run = time.monotonic()

    async def _refresh(self, batch: Batch) -> Update:
        events = [t for t in batch.triggers if isinstance(t, Event)]
        notes = [f"serving {len(batch.triggers)} request(s)"] if len(batch.triggers) > 1 else []
        before = state.read_local(self.tf.tf_dir)
        if before is None:  # a configured backend: the outputs are compared with this state
            before = await self._pull_state()
        targets: list[str] = []
        if self.tf.target_from_event and events and not batch.background:
            targets, note = self._targets(events, before)
            notes.append(note)
        report, elapsed = await self._apply(batch, targets)
        self._failing = False  # any good run ends a background retry
        return Update(Status.DONE, self._summary(report, elapsed, before, targets, notes))

    def _targets(self, events: list[Event], before: state.State | None
                 ) -> tuple[list[str], str]:
        ids = sorted({i for event in events for i in event.resource_ids})
        found = state.addresses_with_ids(before, ids)
        if not found:
            return [], f"no state resource has id {', '.join(ids) or '(none)'}: full refresh"
        return found, (f"targeted refresh of {', '.join(found)}; outputs may not be fully "
                       "updated by a targeted refresh (Terraform's -target caveat): the next "
                       "full refresh brings them up to date")

    def argv(self, targets: list[str]) -> list[str]:
        """The command line of one refresh."""
        return [*self.engine.argv, *self._command(
            "apply", refresh_only=IsFlagged, auto_approve=IsFlagged,
            lock_timeout=_duration(self.tf.lock_timeout), target=targets)]

    def _command(self, name: str, **options: object) -> list[str]:
        """Arguments of `terraform NAME`: JSON, no input, the options, our variables."""
        options.update(input=False, json=IsFlagged,
                       var_file=[str(p) for p in self.tf.var_files],
                       var=[f"{key}={value}" for key, value in self.tf.variables])
        command = Terraform(terraform_bin_path="terraform").generate_cmd_string(name, **options)
        return list(command[1:])

    async def _apply(self, batch: Batch, targets: list[str]) -> tuple[Report, float]:
        spec = process.Spec(
            argv=self.argv(targets), name=f"terraform in {self.tf.tf_dir}", env=self.env,
            cwd=self.tf.tf_dir, timeout=self.settings.timeout,
            kill_after=self.settings.kill_after, stop_signal=signal.SIGINT,
            read_every=PROGRESS_EVERY,  # progress goes out once a second anyway (#9)
        )
        report, started = Report(), time.monotonic()
        batch.publish(Update(Status.RUNNING, f"terraform apply -refresh-only in "
                                             f"{self.tf.tf_dir} ({self.engine.describe()})"))
        pending: list[str] = []
        flushed = time.monotonic()
        async with process.Child(spec) as child:
            async for line in child.lines():
                progress = report.feed(line)
                if progress:
                    pending.append(progress)
                if pending and time.monotonic() - flushed >= PROGRESS_EVERY:
                    batch.publish(Update(Status.RUNNING, _batch_text(pending)))
                    pending, flushed = [], time.monotonic()
            exit_ = await child.wait()
        if pending:
            batch.publish(Update(Status.RUNNING, _batch_text(pending)))
        if exit_.returncode != 0:
            raise self._failure(report, exit_)
        return report, time.monotonic() - started

    def _failure(self, report: Report, exit_: process.Exit) -> ActionFailed:
        lock = report.lock()
        if lock is not None:
            return LockHeld(
                f"terraform state lock is held by {lock.get('Who', '?')} since "
                f"{lock.get('Created', '?')} (lock ID {lock.get('ID', '?')}, operation "
                f"{lock.get('Operation', '?')}); waited --lock-timeout "
                f"{_duration(self.tf.lock_timeout)}"
            )
        lines = [f"terraform refresh failed in {self.tf.tf_dir} ({exit_.describe()})"]
        lines += [f"Error: {diag.text()}" for diag in report.errors]
        if not report.errors:
            lines += report.other[-10:] or [exit_.stderr_tail()]
        return ActionFailed("\n".join(line for line in lines if line))

    def _summary(self, report: Report, elapsed: float, before: state.State | None,
                 targets: list[str], notes: list[str]) -> str:
        version = f"Terraform {report.version}" if report.version else self.engine.describe()
        lines = [
            f"terraform refresh done in {elapsed:.1f}s ({version}, {self.tf.tf_dir})",
            listing("refreshed", report.refreshed),
            listing("drifted", report.drifted),
            listing("outputs changed", report.output_changes(
                state.outputs(before))),
            *notes,
            *(f"warning: {diag.summary}" for diag in report.warnings
              if not targets or diag.summary not in TARGETING_WARNINGS),
        ]
        return "\n".join(lines)

    # -- set-up, retry, reconcile --------------------------------------------------

    async def _capture(self, args: list[str], name: str) -> tuple[bytes, process.Exit]:
        """Run a short Terraform command in the directory and return its output."""
        return await process.capture(process.Spec(
            argv=[*self.engine.argv, *args], name=name, env=self.env, cwd=self.tf.tf_dir,
            timeout=self.settings.timeout, kill_after=self.settings.kill_after,
            stop_signal=signal.SIGINT))

    async def _init(self) -> None:
        output, exit_ = await self._capture(["init", "-input=false", "-no-color"], "terraform init")
        if exit_.returncode != 0:
            text = (output + exit_.stderr).decode("utf-8", "replace").strip()
            raise UserError(f"--init: terraform init failed in {self.tf.tf_dir}: "
                            + " ".join(text.split())[:600])
        log.info("terraform init done", dir=str(self.tf.tf_dir))

    def _log_engine(self, found: tuple[int, ...]) -> None:
        shown = ".".join(map(str, found))
        log.info("terraform engine", engine=self.engine.describe(), version=shown)
        if found < engines.OUTPUT_ONLY_FIX:
            log.warning("terraform before 1.10: a refresh-only apply whose only changes are "
                        "outputs fails there; upgrade, or expect such refreshes to fail",
                        version=shown)

    async def _version(self) -> tuple[int, ...]:
        found = await engines.version(self.engine, self.env)
        if found is None:
            raise startup.not_terraform(self.engine.describe())
        return found

    async def _check_plan(self) -> None:
        """A plan of nothing with our variables: configuration, variables and backend."""
        args = self._command("plan", **startup.PLAN_OPTIONS)
        output, exit_ = await self._capture(args, "terraform plan")
        report = Report()
        for line in output.splitlines():
            report.feed(line)
        error = startup.plan_error(self.tf.tf_dir, report, exit_)
        if error is not None:
            raise error

    async def _pull_state(self) -> state.State | None:
        output, exit_ = await self._capture(["state", "pull"], "terraform state pull")
        return state.parse(output) if exit_.returncode == 0 else None

    def _schedule_retry(self) -> None:
        self._failing = True
        if self._retry is None or self._retry.done():
            self._retry = self._spawn(self._retry_loop())

    async def _retry_loop(self) -> None:
        """Retry with backoff until a run succeeds (this one or an event's)."""
        delay = RETRY_FIRST
        while True:
            await asyncio.sleep(delay)
            if not self._failing:
                log.info("refresh recovered through a later run; background retry stops")
                return
            batch, _ = self.flight.submit("retry after failure", background=True)
            if await self._succeeded(batch):
                log.info("background refresh retry succeeded")
                return
            delay = min(delay * 2, RETRY_MAX)
            log.warning("background refresh retry failed", next_in=delay)

    @staticmethod
    async def _succeeded(batch: Batch) -> bool:
        await batch.finished.wait()  # also when it was queued behind the current run
        return batch.error is None

    async def _reconcile(self, every: float) -> None:
        while True:
            await asyncio.sleep(max(self._last_run + every - time.monotonic(), 0.05))
            if self.flight.busy:
                await self.flight.wait_idle()  # that run counts; wait from its end
            elif time.monotonic() - self._last_run >= every:
                log.info("reconcile: no event for a while, refreshing", every=every)
                batch, _ = self.flight.submit("reconcile", background=True)
                await self._succeeded(batch)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _duration(seconds: float) -> str:
    """A duration Terraform's flags accept: whole seconds or milliseconds, never 1e+06s."""
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def _batch_text(lines: list[str], most: int = 20) -> str:
    shown = lines[-most:]
    skipped = len(lines) - len(shown)
    return "\n".join(([f"... {skipped} earlier progress lines"] if skipped else []) + shown)

