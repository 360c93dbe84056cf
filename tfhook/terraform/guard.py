"""The guarded refresh: plan it, check the saved plan, apply exactly that plan, then ask
whether the configuration would change back what was refreshed (#12)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from tfhook.core.flight import Batch
from tfhook.core.model import Status, Update
from tfhook.errors import ActionFailed
from tfhook.terraform import commands, converge, drift, planfiles, plans, snapshots
from tfhook.terraform.events import LOCK_SUMMARY, Report
from tfhook.terraform.refresh import Target, show, stream

log = structlog.get_logger("tfhook.terraform")
STALE = "Saved plan is stale"  # Terraform's summary when the state changed since the plan
_UNWRITTEN = (STALE, LOCK_SUMMARY)  # an apply that failed so wrote nothing
# Keeps a plan for an operator (#21): (plan file, drifts, why, -target addresses) -> how to
# decide it ("held as run-12: tfhook runs approve run-12 ..."); "" when it cannot be kept.
Hold = Callable[[Path, list[drift.Drift], str, list[str]], str]


class Refusal(ActionFailed):
    """The guard stopped the refresh; `held` when its plan waits for an operator (#21)."""

    def __init__(self, message: str, held: bool) -> None:
        super().__init__(message)
        self.held = held


class RemovalsRefused(Refusal):
    """The refresh would have removed objects from the state that nothing said were gone."""


class DriftHeld(Refusal):
    """The refresh found drift no event explains and `unexplained_drift: hold` kept its plan."""


class StateMissing(ActionFailed):
    """The refresh read no state for a configuration that has resources (or Terraform will
    not apply its changes): answering success would hide a lost state."""


@dataclass
class GuardedRefresh:
    """What a guarded refresh did."""

    report: Report
    elapsed: float
    before: dict[str, tuple[Any, bool]]  # outputs of the state the plan read, under the lock
    reverts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    drifts: list[drift.Drift] = field(default_factory=list)
    converged: list[str] = field(default_factory=list)  # what converge did (#22)


async def refresh(target: Target, batch: Batch, targets: list[str], causes: drift.Causes,
                  hold: Hold | None = None) -> GuardedRefresh:
    """Plan the refresh, refuse unexpected removals, apply the plan, check for reverts.

    Args:
        target: the directory and engine.
        batch: the runs' callers, who get the progress.
        targets: -target addresses (none: everything).
        causes: what the batch's events explain: drift on their own resource ids, and the
            removal of those DELETED events name (a parent's id explains nothing).
        hold: keeps a plan that is refused or held for an operator (#21); None: none is.

    Returns:
        The report of the refresh and what the revert check found.
    """
    started = time.monotonic()
    for attempt in (1, 2):
        report = Report()
        try:
            saved, drifts = await _plan_and_apply(target, batch, report, targets, causes, hold)
            break
        except ActionFailed:
            # Another run (another tfhook on a shared state) wrote the state between our
            # plan and its apply: Terraform refuses the plan; plan again, once.
            if attempt == 2 or not any(d.summary == STALE for d in report.errors):
                raise
            log.info("the state changed between plan and apply; planning again",
                     dir=str(target.action.dir))
    # The plan knows what each drift changed; the streamed events only say `update`.
    report.drifted = [str(d) for d in drifts] or report.drifted
    result = GuardedRefresh(report, time.monotonic() - started, plans.prior_outputs(saved),
                            drifts=drifts)
    # Only what the refresh changed can be changed back; the check plans just that (a
    # plan of the whole configuration costs as much as the refresh itself).
    drifted = plans.drifted(saved)
    if target.action.check_revert and drifted:
        await check_reverts(target, batch, drifted, result)
    return result


async def _plan_and_apply(target: Target, batch: Batch, report: Report, targets: list[str],
                          causes: drift.Causes, hold: Hold | None
                          ) -> tuple[dict[str, Any], list[drift.Drift]]:
    """Plan the refresh into a file, check it, apply that file; returns the checked plan
    and its drift, each explained or not."""
    with planfiles.directory() as tmp:
        plan_file = Path(tmp) / "refresh.tfplan"
        argv = target.plan_argv(targets, plan_file, target.variables(tmp))
        await stream(target, batch.publish, report, argv,
                     "terraform plan -refresh-only")
        # Nothing drifted in a state that has resources: no plan to show, check or apply.
        # A plan that refreshed no managed resource is shown: its state may be missing.
        if report.unchanged and report.state_read:
            return {}, []
        saved = await show_plan(target, plan_file)
        drifts = drift.classify(saved, causes)
        kept = _holder(hold, plan_file, drifts, targets)
        _check_removals(target, saved, causes.deleted, batch.background, kept)
        _check_state(target, saved)
        _check_drift(target, drifts, kept)
        if saved.get("applyable", True):  # a plan of no change has nothing to apply
            await apply(target, batch.publish, report, plan_file, batch.run_id)
    return saved, drifts


async def apply(target: Target, publish: Callable[[Update], None], report: Report,
                plan_file: Path, run: int | None) -> None:
    """Every apply tfhook makes: exactly the saved, checked (or approved) plan `plan_file`,
    once the state it replaces is saved as run-`run`'s snapshot (under the same flight:
    `tfhook state rollback run-N` undoes the apply)."""
    shot = await snapshots.take(target.snapshots,
                                target.spec(commands.state_pull(), "terraform state pull"),
                                target.action.dir, target.action.engine, run)
    try:
        await stream(target, publish, report, target.apply_argv(plan_file),
                     "terraform apply (the checked plan)")
    except ActionFailed:
        # Terraform refused before writing (a stale plan, a lock it could not get): the
        # run applied nothing, so its snapshot is no rollback target.
        if shot is not None and target.snapshots is not None \
                and any(d.summary in _UNWRITTEN for d in report.errors):
            target.snapshots.remove(shot)
        raise


def _holder(hold: Hold | None, plan_file: Path, drifts: list[drift.Drift], targets: list[str]
            ) -> Callable[[str], str]:
    """Keep the plan for an operator, saying why; returns how to decide it ("" if not kept)."""
    return lambda why: "" if hold is None else hold(plan_file, drifts, why, targets)


def _check_drift(target: Target, drifts: list[drift.Drift], kept: Callable[[str], str]
                 ) -> None:
    """`unexplained_drift: hold`: a plan with drift no event explains waits for an operator."""
    found = drift.unexplained(drifts)
    if target.action.unexplained_drift != "hold" or not found:
        return
    how = kept("unexplained drift")
    where = target.action.dir
    log.warning("terraform refresh held: drift no event explains", dir=str(where),
                objects="; ".join(map(str, found)), held=how or "not kept")
    raise DriftHeld(
        f"terraform refresh held in {where}: {len(found)} of {len(drifts)} drifted object(s) "
        f"explained by no event (unexplained_drift hold): {'; '.join(map(str, drifts))}. "
        "Nothing was changed. " + (how or "The plan could not be kept (no history to name its "
                                   "run)."), bool(how))


async def show_plan(target: Target, plan_file: Path) -> dict[str, Any]:
    """The saved plan `plan_file` (`terraform show -json`); raises when it cannot be read."""
    output, exit_ = await show(target, plan_file)
    saved = plans.parse(output)
    if exit_.returncode != 0 or not saved:
        raise ActionFailed(f"terraform show of the refresh plan failed in {target.action.dir} "
                           f"({exit_.describe()}): {exit_.stderr_tail(5)}")
    return saved


def _check_removals(target: Target, saved: dict[str, Any], deleted_ids: Collection[str],
                    background: bool, kept: Callable[[str], str]) -> None:
    found = plans.removals(saved)
    allowed = target.action.max_state_removals
    refused = plans.refused(found, () if background else deleted_ids, allowed)
    if not refused:
        if found:
            log.warning("refresh removes objects from the state",
                        objects=", ".join(str(r) for r in found), dir=str(target.action.dir))
        return
    names = ", ".join(map(str, refused))
    why = ("a background run expects none" if background
           else "no DELETED event of this run named them")
    how = kept("refused removals")
    log.error("terraform refresh refused: it would remove objects from the state",
              objects=", ".join(str(r) for r in refused), dir=str(target.action.dir),
              held=how or "not kept")
    raise RemovalsRefused(
        f"terraform refresh refused in {target.action.dir}: it would remove "
        f"{len(refused)} object(s) from the state ({why}): {names}. Nothing was changed. "
        "Check the credentials, account and zone Terraform uses; if the objects are really "
        f"gone, allow it with {target.label('max_state_removals')} {len(refused)} (or remove them by hand: "
        f"{commands.for_person(target.action.dir, commands.state_rm('ADDRESS'))})"
        + (f". The plan is {how}" if how else ""), bool(how))


def _check_state(target: Target, saved: dict[str, Any]) -> None:
    problem = plans.missing_state(saved)
    if not problem:
        return
    where = target.action.dir
    log.error("terraform refresh refused: the state is missing", problem=problem, dir=str(where))
    raise StateMissing(
        f"terraform refresh refused in {where}: {problem}. Nothing was changed. Likely causes: "
        "the state was lost or cut short, the wrong workspace or backend is selected, or the "
        "directory was never applied (apply it once first: "
        f"{commands.for_person(where, commands.apply(commands.ApplyOptions(automation=False)))})")


async def check_reverts(target: Target, batch: Batch, drifted: list[str],
                         result: GuardedRefresh) -> None:
    """What the configuration would change back of `drifted` on the next apply (a plan
    that refreshes nothing, targeted at them), and what converge did about it: after a
    refresh's apply and after an approved one alike."""
    batch.publish(Update(Status.RUNNING, "checking whether the next apply would revert it"))
    with planfiles.directory() as tmp:
        plan_file = Path(tmp) / "revert.tfplan"
        check = Report()
        try:
            argv = target.revert_argv(drifted, plan_file, target.variables(tmp))
            await stream(target, _quiet, check, argv, "terraform plan -refresh=false")
            if not check.changes:
                return
            saved = await show_plan(target, plan_file)
            if target.action.converge is None:
                result.reverts = plans.reverts(saved)
            else:
                result.reverts, result.converged = await converge.follow(target, batch,
                                                                         drifted, saved)
        except ActionFailed as exc:
            first = str(exc).splitlines()[-1] if str(exc) else ""
            log.warning("revert check failed", dir=str(target.action.dir), error=str(exc))
            result.notes.append(f"warning: the revert check failed: {first}")
            return
    if result.reverts:
        log.warning("the next terraform apply would change back what was refreshed",
                    dir=str(target.action.dir), changes=result.reverts)


def _quiet(update: Update) -> None:
    """The revert plan changes nothing: its progress is not the callers' business."""
