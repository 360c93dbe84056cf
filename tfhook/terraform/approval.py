"""Approving a held plan (#21): apply exactly it, as a run of the directory's single flight.

When the state moved since the plan was made (Terraform: "Saved plan is stale"), plan again:
apply the new plan only if it changes exactly what was approved; else hold it as a new run
and refuse, saying what differs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from tfhook.core.decisions import Refused, Who
from tfhook.core.flight import Batch, Flight
from tfhook.core.model import Update
from tfhook.core.observer import Run
from tfhook.errors import ActionFailed
from tfhook.terraform import drift, guard, planfiles
from tfhook.terraform.events import Report
from tfhook.terraform.held import HeldPlans, Kept
from tfhook.terraform.refresh import Target, stream

log = structlog.get_logger("tfhook.terraform")
Publish = Callable[[Update], None]


def _future() -> asyncio.Future[str]:
    return asyncio.get_running_loop().create_future()


@dataclass(eq=False)
class Decision:
    """An operator's approval of run-N, as a trigger of the directory's flight; `answer`
    gets what was applied, or the refusal."""

    run: int
    who: Who
    answer: asyncio.Future[str] = field(default_factory=_future)

    def __str__(self) -> str:
        return "approve"  # the trigger's kind, as the history and metrics name it


async def submit(flight: Flight, held: HeldPlans | None, run: int, who: Who) -> str:
    """Approve `run` as a run of the directory's `flight`; returns what was applied."""
    if held is None:
        raise Refused(f"run-{run} is not held here (no such run, or already decided)")
    held.find(run)
    decision = Decision(run, who)
    try:
        async for _ in flight.join(decision):
            pass
    except Exception:
        if not decision.answer.done():
            raise
    return decision.answer.result()


async def decide_all(held: HeldPlans, target: Target, batch: Batch) -> bool:
    """Take the approvals of `batch` out and decide them; whether other triggers remain."""
    decisions = [t for t in batch.triggers if isinstance(t, Decision)]
    for decision in decisions:
        await decide(held, target, batch, decision)
    batch.triggers = [t for t in batch.triggers if not isinstance(t, Decision)]
    return bool(batch.triggers)


async def decide(held: HeldPlans, target: Target, batch: Batch, decision: Decision) -> None:
    """Approve within the flight; the answer (or the error) goes to `decision.answer`."""
    try:
        decision.answer.set_result(await approve(held, target, batch, decision))
    except asyncio.CancelledError:
        decision.answer.cancel()
        raise
    except Exception as exc:  # the approver's, not the batch's: events in it still run
        decision.answer.set_exception(exc)


async def approve(held: HeldPlans, target: Target, batch: Batch, decision: Decision) -> str:
    """Apply the held plan of `decision.run`, then check, as after a refresh's apply,
    whether the next apply would change it back (and converge, when the route does);
    returns what was applied and what the check found. Raises Refused."""
    kept = held.find(decision.run)
    held.deciding = True
    try:
        row, note = await _apply(held, target, batch.publish, kept, decision.who)
        after = await _after(target, batch, kept)
    finally:
        held.deciding = False
    held.decided("applied", row, decision.who)
    return "\n".join([_applied(kept, target, note), *after])


async def _apply(held: HeldPlans, target: Target, publish: Publish, kept: Kept, who: Who
                 ) -> tuple[str | None, str]:
    """Apply the held plan (planned again when stale); the note for its row and answer."""
    report = Report()
    try:
        await guard.apply(target, publish, report, kept.plan, kept.info.run)
    except ActionFailed:
        if not any(d.summary == guard.STALE for d in report.errors):
            raise  # the held run stays held: the operator may try again
        log.info("the approved plan is stale; planning again", run=kept.info.run,
                 dir=str(target.action.dir))
        await _again(held, target, publish, kept, who)
        return ("planned again (the state had changed): the same changes",
                " (planned again: the state had changed since; the new plan changes exactly "
                "what was approved)")
    return None, ""


async def _after(target: Target, batch: Batch, kept: Kept) -> list[str]:
    """The revert check (and converge) of what the approved plan changed, as run-N's."""
    drifted = sorted({d.address for d in kept.drifts})
    if not target.action.check_revert or not drifted:
        return []
    result = guard.GuardedRefresh(Report(), 0.0, {}, drifts=kept.drifts)
    run_batch = Batch(subscribers=batch.subscribers, run_id=kept.info.run)
    await guard.check_reverts(target, run_batch, drifted, result)
    kept.run.reverts = tuple(result.reverts)
    return [*result.notes, *(f"warning: {line}" for line in result.reverts), *result.converged]


def _applied(kept: Kept, target: Target, note: str) -> str:
    return (f"applied run-{kept.info.run} in {target.action.dir}{note}: "
            + "; ".join(kept.info.changes))


async def _again(held: HeldPlans, target: Target, publish: Publish, kept: Kept, who: Who
                 ) -> None:
    """Plan again; apply only what was approved, else hold the new plan and refuse."""
    with planfiles.directory() as tmp:
        plan_file = Path(tmp) / "approved.tfplan"
        report = Report()
        argv = target.plan_argv(kept.targets, plan_file, target.variables(tmp))
        await stream(target, publish, report, argv,
                     "terraform plan -refresh-only (the approved plan is stale)")
        nothing = report.unchanged and report.state_read
        # The drift keeps the explanations of the events that caused the held run.
        drifts = [] if nothing else drift.explained_as(
            drift.classify(await guard.show_plan(target, plan_file), drift.Causes()),
            kept.drifts)
        now = drift.fingerprint(drifts)
        if now == kept.fingerprint:
            await guard.apply(target, publish, Report(), plan_file, kept.info.run)
            kept.drifts = drifts
            return
        differs = drift.differences(kept.fingerprint, now)
        first = f"run-{kept.info.run}'s plan is stale and planning again changes {differs}"
        if not drifts:
            held.decided("stale", "planning again found nothing to change", who)
            raise Refused(f"{first}: nothing left to apply; run-{kept.info.run} is discarded")
        how = await _hold_again(held, kept, plan_file, drifts)
        raise Refused(f"{first}: nothing was applied; the new plan is {how}")


async def _hold_again(held: HeldPlans, kept: Kept, plan_file: Path,
                      drifts: list[drift.Drift]) -> str:
    """The new plan, held as a run of its own (which supersedes run-N)."""
    run = Run(kept.run.route, kept.run.directory, ("approve",))
    await held.observer.run_start(run)
    how = held.hold(run, plan_file, drifts, kept.info.reason, kept.targets)
    run.outcome = held.outcome(run, "failed")
    run.error = how or "the new plan could not be kept (no history to name its run)"
    run.unexplained = len(drift.unexplained(drifts))
    run.stop(0)
    held.observer.run_end(run)
    return how or run.error
