"""One Terraform directory: its engine, start-up checks, single flight and background runs.

Shared by every hook that refreshes the directory, so they never run Terraform there at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import structlog

from tfhook.core.decisions import HeldRun, Who
from tfhook.core.flight import Batch, Flight
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.model import Event, Status, Update
from tfhook.core.observer import Observer, Observers, Run, trigger_kinds
from tfhook.errors import LockHeld, UserError
from tfhook.process import spawn as process
from tfhook.terraform import (
    approval,
    background,
    commands,
    drift,
    guard,
    held,
    planfiles,
    refresh,
    startup,
    state,
    summary,
    targets,
    warm,
)
from tfhook.terraform import engine as engines
from tfhook.terraform import errands as errand_runs
from tfhook.terraform import rollback as rollbacks
from tfhook.terraform.converge import route_problem
from tfhook.terraform.events import Report
from tfhook.terraform.snapshots import Keeper

log = structlog.get_logger("tfhook.terraform")


class Directory:
    """A Terraform directory every hook on it refreshes through one Flight."""

    def __init__(self, hook: Hook, env: dict[str, str], observer: Observer | None = None,
                 shelf: held.Shelf | None = None, snapshots: Keeper | None = None,
                 suggestions: Path | None = None) -> None:
        assert isinstance(hook.action, TerraformAction)
        self.action: TerraformAction = hook.action
        self.label = hook.label
        self.route = hook.name  # runs are counted under the first route on the directory
        self.observer: Observer = observer or Observers()
        env = commands.environment(env)
        engine = engines.choose(self.action.engine, env, self.label("terraform"))
        self.target = refresh.Target(self.action, engine, env, hook.limits, hook.label,
                                     snapshots, suggestions)
        self.flight = Flight(self._work)
        self.providers = warm.Providers(self.action, env, hook.limits)  # (#25)
        # The plan held for an operator (#21); none without a history to name its run.
        self.held = None if shelf is None else held.HeldPlans(shelf, self.observer)
        self.users = 0  # hooks using this directory; closed when the last one closes
        self.version = ""  # the engine's, once started (tfhook_build_info)
        self._started: asyncio.Task[None] | None = None
        self._request: background.Request = _never
        self._tasks: set[asyncio.Task[None]] = set()
        self._retry: asyncio.Task[None] | None = None
        self._failing = self._closed = False
        self._last_run = time.monotonic()

    async def start(self, request: background.Request) -> None:
        """Check once (however many hooks share the directory), then start background runs.

        Background runs go through `request` of the hook that started last: after a reload
        that kept the directory, the hook of the routes in force.
        """
        self._request = request
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await self._started  # a cancelled start-up (SIGTERM) stops its Terraform child

    async def check(self, *, init: bool) -> tuple[int, ...]:
        """The start-up checks: the directory, the engine, `init` if asked, a plan of nothing.

        Returns:
            The engine's version.
        """
        problem = startup.directory_problem(self.action.dir)
        if problem:
            raise UserError(f"{self.label('dir')}: {problem}")
        problem = route_problem(self.action)
        if problem:
            raise UserError(f"{self.label('converge')}: {problem}")
        if init:
            found = await self._version()
            await self._init()
            await self._check_plan()
            return found
        # The engine's two start-up commands need nothing from each other: run them at
        # once. What the version says decides first (a plan of something that is not
        # Terraform fails too). (#9)
        version, plan = await asyncio.gather(self._version(), self._check_plan(),
                                             return_exceptions=True)
        for outcome in (version, plan):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(version, tuple)
        return version

    async def _version(self) -> tuple[int, ...]:
        found = await engines.version(self.target.engine, self.target.env)
        if found is None:
            raise startup.not_terraform(self.target.engine.describe(), self.label)
        return found

    async def _ask(self, reason: str) -> bool:
        return await self._request(reason)

    async def _start(self) -> None:
        planfiles.sweep_once()  # what a tfhook killed outright left (plans hold secrets)
        if self.held is not None:
            self.held.shelf.sweep()
        found = await self.check(init=self.action.init)
        self._log_engine(found)  # only once started: a start-up error is the one line
        self.target = await self.providers.warm(self.target)
        if self.action.refresh_on_start:
            self._spawn(self._first())
        if self.action.reconcile_every:
            self._spawn(background.reconcile(self._ask, self.flight, self.action.reconcile_every,
                                             lambda: self._last_run))

    async def _first(self) -> None:
        await self._ask("refresh on start")

    async def close(self) -> None:
        """Stop background runs, answer what is queued, cancel what runs."""
        self._closed = True  # no retry may start from a run that close() cancels
        for task in list(self._tasks):
            task.cancel()
        if self._started is not None and not self._started.done():
            self._started.cancel()
        await self.flight.close()
        await self.providers.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def schedule_retry(self) -> None:
        """A run failed and the call was answered DONE: retry in the background."""
        self._failing = True
        if self.held_run() is not None:
            return  # retrying would only hold the same plan again (#21)
        if not self._closed and (self._retry is None or self._retry.done()):
            self._retry = self._spawn(self._retrying())

    async def _retrying(self) -> None:
        self.observer.retry_pending(self.route, True)
        try:
            await background.retry(self._ask, lambda: self._failing and self.held_run() is None)
        finally:
            self.observer.retry_pending(self.route, False)

    # -- held plans (#21) ----------------------------------------------------------

    def held_run(self) -> HeldRun | None:
        """The run whose plan waits for an operator here, if any."""
        return None if self.held is None else self.held.current()

    async def approve(self, run: int, who: Who) -> str:
        """Apply exactly the held plan of `run`, as a run of the single flight (calls that
        come meanwhile queue behind it). Raises Refused (see core.decisions)."""
        return await approval.submit(self.flight, self.held, run, who)

    async def deny(self, run: int, who: Who) -> str:
        """Discard the held plan of `run`. Raises Refused."""
        return held.deny(self.held, run, who)

    async def rollback(self, run: int, who: Who, *, apply: bool) -> str:
        """See Decisions.rollback: the push is a run of the flight. Raises Refused."""
        return await rollbacks.rollback(self.flight, self.target, run, who, apply=apply)

    # -- one run -------------------------------------------------------------------

    async def _work(self, batch: Batch) -> Update:
        self.target = await self.providers.warm(self.target)  # started again if need be
        # Approvals first; the events that queued with them run after, as one run.
        if self.held is not None and not await approval.decide_all(self.held, self.target,
                                                                   batch):
            return Update(Status.DONE, "decided")
        return await self._one_run(batch)

    async def _one_run(self, batch: Batch) -> Update:
        run = Run(self.route, str(self.action.dir), trigger_kinds(batch.triggers))
        await self.observer.run_start(run)
        batch.run_id = run.id
        try:
            update = await errand_runs.or_refresh(batch, run,
                                                 lambda: self._refresh(batch, run))
            run.outcome = "done"
            return update
        except BaseException as exc:
            run.outcome = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
            self.providers.after(exc)
            if self.held is not None:
                run.outcome = self.held.outcome(run, run.outcome)
            run.error = str(exc) or "the run was cancelled"
            run.lock_failed, run.refused = isinstance(exc, LockHeld), isinstance(exc, guard.RemovalsRefused)
            run.holding = self.held is not None and self.held.kept is not None \
                and isinstance(exc, guard.DriftHeld | guard.RemovalsRefused)
            raise
        finally:
            # Also when the run failed before Terraform started (a state pull that timed
            # out): reconcile waits from here, it must not fire again at once.
            self._last_run = time.monotonic()
            run.stop(sum(isinstance(t, Event) for t in batch.triggers))
            self.observer.run_end(run)

    async def _refresh(self, batch: Batch, run: Run) -> Update:
        events = [t for t in batch.triggers if isinstance(t, Event)]
        notes = [f"serving {len(batch.triggers)} request(s)"] if len(batch.triggers) > 1 else []
        chosen: list[str] = []
        if self.action.target_from_event and events and not batch.background:
            before = state.read_local(self.action.dir)
            if before is None:  # a configured backend
                before = await state.pull(self.target.spec(commands.state_pull(),
                                                           "terraform state pull"))
            chosen, note = targets.targets(events, before)
            notes.append(note)
        causes = drift.Causes() if batch.background else drift.Causes.of(events)
        done = await guard.refresh(self.target, batch, chosen, causes,
                                   None if self.held is None else self.held.holder(run))
        self._failing = False  # any good run ends a background retry
        run.refreshed, run.drifted = tuple(done.report.refreshed), tuple(done.report.drifted)
        run.unexplained, run.reverts = len(drift.unexplained(done.drifts)), tuple(done.reverts)
        run.outputs_changed = tuple(done.report.output_changes(done.before))
        return Update(Status.DONE, summary.summary(
            done.report, done.elapsed, self.target.engine.describe(), self.action.dir,
            done.before, chosen, notes + done.notes, done.reverts, done.converged),
            reverts=len(done.reverts))

    # -- set-up --------------------------------------------------------------------

    async def _init(self) -> None:
        spec = self.target.spec(commands.init(), "terraform init")
        # One init at a time across routes: Terraform's plugin cache is not safe for
        # concurrent inits (#12).
        async with startup.init_lock():
            output, exit_ = await process.capture(spec)
        if exit_.returncode != 0:
            raise UserError(f"{self.label('init')}: terraform init failed in {self.action.dir}: "
                            + startup.init_failure(output, exit_))
        log.info("terraform init done", dir=str(self.action.dir))

    def _log_engine(self, found: tuple[int, ...]) -> None:
        shown = self.version = ".".join(map(str, found))
        log.info("terraform engine", engine=self.target.engine.describe(), version=shown,
                 dir=str(self.action.dir))
        if found < engines.OUTPUT_ONLY_FIX:
            log.warning("terraform before 1.10: a refresh-only apply whose only changes are "
                        "outputs fails there; upgrade, or expect such refreshes to fail",
                        version=shown)

    async def _check_plan(self) -> None:
        """A plan of nothing with our variables: configuration, variables and backend."""
        with planfiles.directory() as tmp:
            args = self.target.check_argv(self.target.variables(tmp))
            output, exit_ = await process.capture(self.target.spec(args, "terraform plan"))
        report = Report()
        for line in output.splitlines():
            report.feed(line)
        error = startup.plan_error(self.action.dir, report, exit_, self.label)
        if error is not None:
            raise error

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _never(reason: str) -> bool:
    raise AssertionError("a background run before the directory started")
