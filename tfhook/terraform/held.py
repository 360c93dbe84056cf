"""Held plans (#21): a refresh plan the guard refused or `unexplained_drift: hold` stopped,
kept for an operator to approve or deny.

A directory holds at most one: a newer plan replaces it only when what it would change
differs. Its files (the saved plan, which holds the state and variables: secrets, and a JSON
of its HeldRun) are 0600 in the state directory's `held/` (0700), removed when it is decided or after
`--held-keep`. They are files of the instance that made them: a restarted server does not
take them up again (their run stays `held` in the history until then), it only removes them
once they are older than `--held-keep`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import structlog

from tfhook.config.settings import Settings
from tfhook.core.decisions import HeldRun, Refused, Who
from tfhook.core.observer import Observer, Run
from tfhook.history import identity
from tfhook.terraform import drift

log = structlog.get_logger("tfhook.terraform")


@dataclass(frozen=True, slots=True)
class Shelf:
    """The held plans' folder of a server, and how its answers name the server."""

    root: Path  # the held/ folder of the state directory
    keep: float  # seconds a held plan waits for a decision
    addr: str  # the address `tfhook runs approve --addr` takes

    def put(self, info: HeldRun, plan_file: Path, targets: list[str]) -> Path:
        """Copy the plan and write its record (0600); returns the kept plan's path."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.chmod(0o700)
        kept = self.root / f"run-{info.run}.tfplan"
        _private(kept, plan_file.read_bytes())
        record = {**asdict(info), "targets": targets, "plan": kept.name}
        _private(self.root / f"run-{info.run}.json", json.dumps(record, indent=1).encode())
        return kept

    def drop(self, run: int) -> None:
        for name in (f"run-{run}.tfplan", f"run-{run}.json"):
            (self.root / name).unlink(missing_ok=True)

    def sweep(self) -> None:
        """Remove held plans older than `keep` (those of a server gone, or never decided)."""
        if not self.root.is_dir():
            return
        before = time.time() - self.keep
        for path in self.root.iterdir():
            try:
                if path.stat().st_mtime < before:
                    path.unlink()
                    log.info("held plan expired; removed", file=str(path))
            except OSError:
                continue

    def how(self, run: int) -> str:
        return (f"held as run-{run}: tfhook runs approve run-{run} --addr {self.addr} "
                f"(or discard it: tfhook runs deny run-{run} --addr {self.addr})")


def shelf(settings: Settings) -> Shelf | None:
    """The server's held plans' folder; None without a history (a held run is a run-N)."""
    where = settings.held_dir
    return None if where is None else Shelf(where, settings.held_keep, settings.addr)


def _private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def instance() -> str:
    """This server, as a held run names it: host, pid and the pid's start."""
    return f"{socket.gethostname()} pid {os.getpid()} ({identity.own() or 'start unknown'})"


@dataclass(eq=False)
class Kept:
    """The held run of a directory: what `tfhook runs held` shows, and what approving needs."""

    info: HeldRun
    plan: Path
    targets: list[str]
    fingerprint: frozenset[str]  # what it would change (drift.fingerprint)
    run: Run  # run-N as the observers know it: decided, its row says so
    drifts: list[drift.Drift] = field(default_factory=list)  # each with its explanation


class HeldPlans:
    """The one held run of a directory (or none)."""

    def __init__(self, shelf: Shelf, observer: Observer) -> None:
        self.shelf = shelf
        self.observer = observer
        self.kept: Kept | None = None
        self.deciding = False  # an approval is applying it
        self._repeat: Run | None = None  # the last run that found the held plan's changes again

    def current(self) -> HeldRun | None:
        """The held run, unless it waited longer than `--held-keep` (then it is discarded)."""
        if self.kept is not None and time.time() - self.kept.info.held_at > self.shelf.keep \
                and not self.deciding:
            self.decided("expired", "no operator decided within --held-keep")
        return None if self.kept is None else self.kept.info

    def find(self, run: int) -> Kept:
        """The held run `run`; Refused when this directory holds no such run."""
        if self.current() is None or self.kept is None or self.kept.info.run != run:
            raise Refused(f"run-{run} is not held here (no such run, or already decided)")
        if self.deciding:
            raise Refused(f"run-{run} is being applied")
        return self.kept

    def hold(self, run: Run, plan_file: Path, drifts: list[drift.Drift], reason: str,
             targets: list[str]) -> str:
        """Keep the plan of `run` (replacing a held plan that changes something else);
        returns how to decide it, "" when it cannot be kept (no history: no run id)."""
        changes = drift.fingerprint(drifts)
        if self.kept is not None and self.kept.fingerprint == changes:
            self._repeat = run
            return f"the same changes are already {self.shelf.how(self.kept.info.run)}"
        if run.id is None:
            return ""
        if self.kept is not None:
            self.decided("superseded", f"a newer plan changes something else: run-{run.id}")
        self.shelf.sweep()
        info = HeldRun(run.id, run.route, run.directory, instance(), time.time(), reason,
                       tuple(map(str, drifts)))
        self.kept = Kept(info, self.shelf.put(info, plan_file, targets), targets, changes, run,
                         list(drifts))
        run.drifted = info.changes
        log.warning("plan held for an operator", run=run.id, dir=run.directory, reason=reason,
                    changes="; ".join(info.changes))
        return self.shelf.how(run.id)

    def outcome(self, run: Run, otherwise: str) -> str:
        """The outcome of a run that stopped: `held` when its plan is the held one,
        `already-held` when it found the held plan's changes again, else `otherwise`."""
        if self.kept is not None and self.kept.run is run:
            return "held"
        return "already-held" if self._repeat is run else otherwise

    def holder(self, run: Run) -> Callable[[Path, list[drift.Drift], str, list[str]], str]:
        """The guard's way to hold the plan of `run` (guard.Hold)."""
        def hold(plan_file: Path, drifts: list[drift.Drift], why: str, chosen: list[str]) -> str:
            run.unexplained = len(drift.unexplained(drifts))
            return self.hold(run, plan_file, drifts, why, chosen)
        return hold

    def decided(self, outcome: str, note: str | None = None, who: Who | None = None) -> None:
        """The held run is decided (applied, denied, superseded, expired): its row says so."""
        kept, self.kept = self.kept, None
        if kept is None:
            return
        self.shelf.drop(kept.info.run)
        by = f" by {who.user}" if who is not None and who.user else ""
        kept.run.outcome = outcome
        kept.run.error = f"{outcome}{by}" + (f": {note}" if note else "")
        self.observer.run_changed(kept.run)


def deny(held: HeldPlans | None, run: int, who: Who) -> str:
    """Discard the held plan of `run`; Refused when there is none."""
    if held is None:
        raise Refused(f"run-{run} is not held here (no such run, or already decided)")
    kept = held.find(run)
    held.decided("denied", None, who)
    return f"denied run-{run} in {kept.info.directory}: discarded " + "; ".join(kept.info.changes)
