"""A rollback: the state saved before run N (its snapshot) pushed back over the current one.

What it would change is shown first (objects and attributes, current -> saved); the push
takes the same lineage only, with the serial set above the current one, and saves the
state it replaces as a snapshot of its own, so a rollback can be undone as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from tfhook.core.decisions import Refused, Who
from tfhook.core.flight import Flight
from tfhook.process import spawn as process
from tfhook.terraform import commands, errands, planfiles, plans, snapshots, state
from tfhook.terraform.refresh import Target
from tfhook.terraform.snapshots import Keeper, Snapshot
from tfhook.terraform.state import State

log = structlog.get_logger("tfhook.terraform")


async def rollback(flight: Flight, target: Target, run: int, who: Who, *, apply: bool) -> str:
    """What pushing back the state saved before run-`run` would change; with `apply`, the
    push, as a run of its own under the directory's `flight`, with a snapshot of its own
    (so it can be undone too). Raises Refused."""
    if not apply:
        return await look(target, run)
    saved(target, run)  # refused before any run starts: nothing to push
    log.info("rollback", run=f"run-{run}", user=who.user, dir=str(target.action.dir))
    return await errands.alone(flight, "rollback",
                               lambda batch: push(target, run, batch.run_id))


def saved(target: Target, run: int) -> tuple[Keeper, Snapshot, State]:
    """The snapshot saved before run-`run` in this directory, and its state. Raises Refused."""
    keeper = target.snapshots
    if keeper is None:
        raise Refused("this server keeps no snapshots (no state directory, or a count of 0)")
    shot = keeper.find(run)
    if shot is None:
        raise Refused(f"no snapshot of run-{run} in {keeper.folder} (it never applied "
                      "anything, or it was pruned: `tfhook state snapshots DIR` lists them)")
    if shot.directory != str(target.action.dir):
        raise Refused(f"run-{run} wrote {shot.directory}, not {target.action.dir}")
    document = state.parse(keeper.read(shot))
    if document is None:
        raise Refused(f"the snapshot of run-{run} in {keeper.folder} is not a state document")
    return keeper, shot, document


async def look(target: Target, run: int) -> str:
    """What pushing back run-`run`'s snapshot would change (no run, no lock)."""
    _, shot, old = saved(target, run)
    current = state.parse(await _pull(target)) or {}
    return (_heading(shot, current, "the current state", "would change")
            + _listed(difference(current, old)))


async def push(target: Target, run: int, this_run: int | None) -> errands.Done:
    """Push back run-`run`'s snapshot (same lineage, serial above the current one), after
    saving the current state as this run's snapshot. Raises Refused."""
    keeper, shot, old = saved(target, run)
    data = await _pull(target)
    current = state.parse(data) or {}
    if old.get("lineage") != current.get("lineage"):
        raise Refused(f"the snapshot of run-{run} is of lineage {old.get('lineage')}, the "
                      f"state of {target.action.dir} of lineage {current.get('lineage')}: "
                      "another state; nothing was pushed")
    changes = difference(current, old)
    keeper.save(target.action.dir, target.action.engine, this_run, data)
    serial = int(current.get("serial") or 0) + 1
    with planfiles.directory() as tmp:
        path = Path(tmp) / "rollback.tfstate"
        snapshots.write_private(path, state.dump({**old, "serial": serial}))
        spec = target.spec(target.push_argv(path), "terraform state push")
        output, exit_ = await process.capture(spec)
    if exit_.returncode != 0:
        raise Refused(f"terraform state push failed in {target.action.dir} ({exit_.describe()}):"
                      f" {exit_.stderr_tail(5) or output.decode(errors='replace')[-400:]}")
    return errands.Done(_heading(shot, current, "the state it replaced", "changed")
                        + _listed(changes)
                        + f"\n(pushed as serial {serial}, lineage {current.get('lineage')})",
                        tuple(changes))


async def _pull(target: Target) -> bytes:
    spec = target.spec(commands.state_pull(), "terraform state pull")
    return await snapshots.pull(spec, target.action.dir)


def _heading(shot: Snapshot, current: State, which: str, verb: str) -> str:
    return (f"rollback of {shot.directory} to the state before run-{shot.run} (serial "
            f"{shot.serial}, lineage {shot.lineage}); {which}: serial "
            f"{current.get('serial')}, lineage {current.get('lineage')}; it {verb}")


def _listed(lines: list[str]) -> str:
    if not lines:
        return " nothing in the objects or outputs"
    return f" {len(lines)}:\n" + "\n".join(f"  {line}" for line in lines)


def difference(current: State, old: State) -> list[str]:
    """What replacing `current` by `old` changes: objects added and removed, attributes
    changed (`address: attr old -> new`, sensitive values hidden), then outputs."""
    now, then = _instances(current), _instances(old)
    lines = []
    for address in sorted(set(now) | set(then)):
        if address not in now:
            lines.append(f"{address}: added back")
        elif address not in then:
            lines.append(f"{address}: removed")
        else:
            found = plans.attribute_changes(now[address][0], then[address][0],
                                            _merged(now[address][1], then[address][1]))
            if found:
                lines.append(f"{address}: {', '.join(found)}")
    outputs = plans.attribute_changes(*_outputs(current, old))
    return lines + [f"output {line}" for line in outputs]


def _instances(document: State) -> dict[str, tuple[dict[str, Any], Any]]:
    """Address of each resource instance (managed and data) -> (attributes, sensitive)."""
    found = {}
    for resource in document.get("resources", []):
        base = f"{resource.get('type')}.{resource.get('name')}"
        if resource.get("mode") == "data":
            base = "data." + base
        if resource.get("module"):
            base = f"{resource['module']}.{base}"
        for instance in resource.get("instances", []):
            address = base + state.index(instance.get("index_key"))
            found[address] = (instance.get("attributes") or {},
                              _sensitive(instance.get("sensitive_attributes") or []))
    return found


def _sensitive(paths: list[Any]) -> Any:
    """The sensitive attributes (paths as the state writes them) as plans' nested flags: a
    path that steps into a list or map is hidden whole from its first attribute."""
    tree: dict[str, Any] = {}
    for path in paths:
        steps = path if isinstance(path, list) else []
        keys = [str(step.get("value")) for step in steps
                if isinstance(step, dict) and step.get("type") == "get_attr"][:1]
        if keys:
            tree[keys[0]] = True
    return tree


def _merged(one: Any, other: Any) -> Any:
    return {**(one or {}), **(other or {})}


def _outputs(current: State, old: State) -> tuple[dict[str, Any], dict[str, Any], Any]:
    def values(document: State) -> dict[str, Any]:
        return {name: out.get("value") for name, out in (document.get("outputs") or {}).items()}

    hidden = {name: True for document in (current, old)
              for name, out in (document.get("outputs") or {}).items() if out.get("sensitive")}
    return values(current), values(old), hidden
