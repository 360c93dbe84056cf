"""Converge (#22): after the revert check found the configuration would change back what the
autoscaler did, write the autoscaler's value into a variables file tfhook owns, when the
attribute is set by exactly one root variable; keep it only when a second check confirms the
next apply keeps it; suggest a diff for a constant; optionally commit the file.

Runs inside the refresh, so under the directory's single flight.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfhook.config import options
from tfhook.core.flight import Batch
from tfhook.core.hooks import Converge, TerraformAction
from tfhook.core.model import Event, Update
from tfhook.errors import ActionFailed
from tfhook.terraform import gitwork, hclscan, planfiles, plans, sources, suggest
from tfhook.terraform.events import Report
from tfhook.terraform.refresh import Target, show, stream
from tfhook.terraform.sources import Source


@dataclass(frozen=True, slots=True)
class Changed:
    """One attribute the next apply would change: from the autoscaler's `value` (the
    state's) to the configuration's."""

    address: str
    attribute: str
    value: Any
    config: Any


@dataclass(slots=True)
class _Writes:
    """Variable -> the value to write, and the changes it follows."""

    values: dict[str, Any] = field(default_factory=dict)
    follows: dict[str, list[Changed]] = field(default_factory=dict)


def changed(plan: dict[str, Any]) -> list[Changed]:
    """The known, non-sensitive top-level attributes each in-place update changes."""
    found = []
    for change in plan.get("resource_changes", []):
        detail = change.get("change", {})
        if change.get("mode", "managed") != "managed" or detail.get("actions") != ["update"]:
            continue
        before, after = detail.get("before") or {}, detail.get("after") or {}
        hidden = {**_flags(detail.get("after_unknown")), **_flags(detail.get("before_sensitive")),
                  **_flags(detail.get("after_sensitive"))}
        for key in sorted(set(before) & set(after)):
            if before[key] != after[key] and not hidden.get(key):
                found.append(Changed(str(change.get("address")), key, before[key], after[key]))
    return found


def _flags(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def follow(target: Target, batch: Batch, drifted: list[str], plan: dict[str, Any]
                 ) -> tuple[list[str], list[str]]:
    """The revert warnings, each saying where its value is set, and what converge did."""
    setting = target.action.converge
    assert setting is not None
    found = changed(plan)
    where = {(c.address, c.attribute): sources.find(plan, target.action.dir, c.address,
                                                   c.attribute) for c in found}
    reverts = plans.reverts(plan, lambda change, default: _hint(plan, change, where, default))
    writes, lines = _writes(target.action, setting, found, where)
    if writes.values:
        lines += await _write(target, batch, drifted, writes)
    lines += _suggest(target, batch, found, where)
    return reverts, lines


def _hint(plan: dict[str, Any], change: dict[str, Any], where: dict[tuple[str, str], Source],
          default: str) -> str:
    address = str(change.get("address"))
    if change.get("change", {}).get("actions") != ["update"]:
        return f"{sources.COUNTED}; {default}" if sources.counted(plan, address) else default
    found = [source for (at, _), source in sorted(where.items()) if at == address]
    said = "; ".join(source.describe() for source in found)
    if not found or any(source.kind == "other" for source in found):
        return f"{said}; {default}" if said else default
    return said


def _writes(action: TerraformAction, setting: Converge, found: list[Changed],
            where: dict[tuple[str, str], Source]) -> tuple[_Writes, list[str]]:
    """The variables to write, and why others are not written."""
    writes, lines = _Writes(), []
    route = route_sets(action)
    for change in found:
        name = where[(change.address, change.attribute)].variable
        if not name:
            continue
        if name in route:
            lines.append(f"not converged: var.{name} is set by the route's {route[name]}, "
                         f"which overrides {setting.vars_file}: remove it from the route")
        elif name in writes.values and writes.values[name] != change.value:
            lines.append(f"not converged: var.{name} would need two values "
                         f"({_show(writes.values[name])} and {_show(change.value)})")
            writes.values.pop(name)
        else:
            writes.values.setdefault(name, change.value)
            writes.follows.setdefault(name, []).append(change)
    return writes, lines


async def _write(target: Target, batch: Batch, drifted: list[str], writes: _Writes
                 ) -> list[str]:
    """Write the values, check again, keep them only when Terraform confirms."""
    setting = target.action.converge
    assert setting is not None
    name, path = setting.vars_file, target.action.dir / setting.vars_file
    if setting.commit and (problem := await gitwork.blocked(target, name)):
        return [f"not converged: {problem}"]
    old = path.read_bytes() if path.exists() else None
    try:
        data = _load(old)
    except ValueError as exc:
        return [f"not converged: {name}: {exc}; tfhook leaves it alone"]
    try:
        _atomic(path, (json.dumps({**data, **writes.values}, indent=2) + "\n").encode())
    except OSError as exc:
        return [f"not converged: cannot write {name}: {exc}"]
    try:
        left = await _recheck(target, drifted)
    except ActionFailed as exc:
        _restore(path, old)
        first = str(exc).splitlines()[-1] if str(exc) else "it failed"
        return [f"not converged: the check after writing {name} failed ({first}); "
                f"{name} restored"]
    still = [c for changes in writes.follows.values() for c in changes
             if (c.address, c.attribute) in left]
    if still:
        _restore(path, old)
        shown = ", ".join(f"{c.address} {c.attribute}" for c in still)
        return [f"not converged: with {_assigned(writes)} in {name} Terraform still plans to "
                f"change {shown}; {name} restored"]
    lines = [f"converged: var.{var} = {_show(value)} ({name}); the next apply keeps "
             f"{_show(value)}" for var, value in writes.values.items()]
    if setting.commit:
        lines.append(await gitwork.commit(target, name, _message(batch, writes)))
    return lines


async def _recheck(target: Target, drifted: list[str]) -> set[tuple[str, str]]:
    """The revert check again: what the next apply would still change."""
    with planfiles.directory() as tmp:
        plan_file = Path(tmp) / "converge.tfplan"
        report = Report()
        argv = target.revert_argv(drifted, plan_file, target.variables(tmp))
        await stream(target, _quiet, report, argv, "terraform plan -refresh=false")
        if not report.changes:
            return set()
        output, exit_ = await show(target, plan_file)
    saved = plans.parse(output)
    if exit_.returncode != 0 or not saved:
        raise ActionFailed(f"terraform show failed ({exit_.describe()})")
    return {(c.address, c.attribute) for c in changed(saved)}


def _suggest(target: Target, batch: Batch, found: list[Changed],
             where: dict[tuple[str, str], Source]) -> list[str]:
    """The diff of every constant the autoscaler outgrew, kept with the run."""
    edits, lines = [], []
    for change in found:
        source = where[(change.address, change.attribute)]
        text = suggest.literal(change.value)
        if source.kind == "constant" and source.literal is not None:
            if text is None:
                lines.append(f"no suggested change for {change.address} {change.attribute}: "
                             "its new value is not a number, string or bool")
            else:
                edits.append((source.literal, text))
    if not edits:
        return lines
    if target.suggestions is None or batch.run_id is None:
        return [*lines, "suggested change not kept: the history is off (runs have no id)"]
    try:
        text = suggest.diff(target.action.dir, edits)
        suggest.keep(target.suggestions, batch.run_id, text)
    except OSError as exc:
        return [*lines, f"suggested change not kept: {exc}"]
    return [*lines, f"suggested change: tfhook runs diff run-{batch.run_id}"]


def route_sets(action: TerraformAction) -> dict[str, str]:
    """The variables the route itself sets (its `variables` and `var_files`): name -> the
    route's key that sets it, as the routes file spells it."""
    by_value, by_file = (options.filling(field).given_key for field in ("variables", "var_files"))
    found = {name: by_value for name, _ in action.variables}
    for path in action.var_files:
        where = path if path.is_absolute() else action.dir / path
        try:
            text = where.read_text(encoding="utf-8")
            names = (json.loads(text) if where.name.endswith(".json")
                     else hclscan.scan(text, where).attributes)
        except (OSError, ValueError):  # Terraform's own check says what is wrong with it
            continue
        for name in names if isinstance(names, dict) else ():
            found.setdefault(str(name), f"{by_file} {path}")
    return found


def route_problem(action: TerraformAction) -> str | None:
    """Why the route may not converge: a variable of its own (route_sets) is one converge
    owns (it would override the variables file)."""
    if action.converge is None:
        return None
    try:
        owned = sources.owned(action.dir)
        owned.update({name: action.converge.vars_file for name in _load(_bytes(
            action.dir / action.converge.vars_file)) if name not in owned})
    except (OSError, ValueError):  # the start-up plan says what is wrong with the files
        return None
    clash = sorted(set(owned) & set(route_sets(action)))
    if not clash:
        return None
    sets = route_sets(action)
    return "; ".join(f"var.{name} ({owned[name]}) is converge's, but the route's {sets[name]} "
                     f"sets it and would override {action.converge.vars_file}: remove it from "
                     "the route" for name in clash)


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _load(data: bytes | None) -> dict[str, Any]:
    if data is None:
        return {}
    found = json.loads(data)
    if not isinstance(found, dict):
        raise ValueError("not a JSON object")
    return found


def _atomic(path: Path, data: bytes) -> None:
    """Replace `path` whole (a reader sees the old file or the new one), keeping its mode."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _restore(path: Path, old: bytes | None) -> None:
    if old is None:
        path.unlink(missing_ok=True)
    else:
        _atomic(path, old)


def _message(batch: Batch, writes: _Writes) -> str:
    jobs = sorted({t.scaling_job_id for t in batch.triggers if isinstance(t, Event)} - {""})
    what = "; ".join(f"{c.address} {c.attribute} {_show(c.config)} -> {_show(c.value)}"
                     for changes in writes.follows.values() for c in changes)
    job = f"job {', '.join(jobs)}" if jobs else "a background refresh"
    return (f"tfhook converge: {_assigned(writes)}\n\nThe autoscaler changed {what} "
            f"({job}).\n")


def _assigned(writes: _Writes) -> str:
    return ", ".join(f"var.{name} = {_show(value)}" for name, value in writes.values.items())


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _quiet(update: Update) -> None:
    """The check's progress is not the callers' business."""
