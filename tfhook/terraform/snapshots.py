"""Snapshots: the state tfhook is about to replace, saved before each write it makes (an
apply, a rollback's push), so that every write can be undone (`tfhook state rollback`).

One file per snapshot in the state directory's `snapshots/` (0700), named by the run that wrote
(`run-12.tfstate`, 0600: a state holds secrets), and a small JSON record beside it (the
directory, the time, the state's serial and lineage, the size); kept per directory by count
and age.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tfhook.errors import ActionFailed
from tfhook.process import spawn as process
from tfhook.terraform import state

FOLDER = "snapshots"
KEEP = 50  # snapshots per directory, unless the server is told otherwise
KEEP_AGE = 30 * 86400.0  # seconds: older ones are removed whatever their count


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One saved state: `name` is its files' stem (`run-12`; `at-<ns>` without a run id)."""

    name: str
    run: int | None
    directory: str
    engine: str  # the engine the server ran (auto, embedded, a path): a rollback uses it
    time: float
    serial: int | None
    lineage: str
    size: int


@dataclass(frozen=True, slots=True)
class Keeper:
    """Where a server keeps its snapshots, and how many."""

    root: Path  # the server's state directory (beside its history)
    keep: int = KEEP
    age: float = KEEP_AGE

    @property
    def folder(self) -> Path:
        return self.root / FOLDER

    def save(self, directory: Path, engine: str, run: int | None, data: bytes,
             now: float | None = None) -> Snapshot:
        """Save `data` (a state document) as the snapshot of `run`, then prune."""
        now = time.time() if now is None else now
        parsed = state.parse(data) or {}
        serial = parsed.get("serial")
        shot = Snapshot(f"run-{run}" if run is not None else f"at-{time.time_ns()}", run,
                        str(directory), engine, now,
                        serial if isinstance(serial, int) else None,
                        str(parsed.get("lineage", "")), len(data))
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(self.folder / f"{shot.name}.tfstate", data)
        write_private(self.folder / f"{shot.name}.json", json.dumps(asdict(shot)).encode())
        self.prune(str(directory), now)
        return shot

    def records(self, directory: str | None = None) -> list[Snapshot]:
        """The snapshots kept (of `directory` only, when given), oldest first."""
        found = []
        for path in self.folder.glob("*.json") if self.folder.is_dir() else ():
            shot = _record(path)
            if shot is not None and (directory is None or shot.directory == directory):
                found.append(shot)
        return sorted(found, key=lambda shot: (shot.time, shot.run or 0))

    def find(self, run: int) -> Snapshot | None:
        """The snapshot saved before run-`run` wrote, if it is still kept."""
        shot = _record(self.folder / f"run-{run}.json")
        return shot if shot is not None and shot.run == run else None

    def read(self, shot: Snapshot) -> bytes:
        return (self.folder / f"{shot.name}.tfstate").read_bytes()

    def prune(self, directory: str, now: float) -> list[str]:
        """Remove the snapshots of `directory` beyond the newest `keep`, and those older
        than `age`; returns their names."""
        kept = self.records(directory)
        old = kept[:max(len(kept) - self.keep, 0)]
        old += [shot for shot in kept[len(old):] if now - shot.time > self.age]
        for shot in old:
            self.remove(shot)
        return [shot.name for shot in old]

    def remove(self, shot: Snapshot) -> None:
        """Remove `shot`'s files (a snapshot of an apply that wrote nothing is no rollback
        target)."""
        for suffix in (".tfstate", ".json"):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / f"{shot.name}{suffix}").unlink()


def keeper(root: Path | None, keep: int) -> Keeper | None:
    """The snapshots a server keeps in `root`, `keep` per directory; None when it keeps none
    (no state directory, or a count of 0)."""
    return None if root is None or keep == 0 else Keeper(root, keep)


async def pull(spec: process.Spec, where: Path) -> bytes:
    """The state document as `terraform state pull` prints it (b"" when there is none)."""
    output, exit_ = await process.capture(spec)
    if exit_.returncode != 0 or (output.strip() and state.parse(output) is None):
        raise ActionFailed(f"terraform state pull failed in {where} ({exit_.describe()}): "
                           f"{exit_.stderr_tail(5)}")
    return output


async def take(keeper: Keeper | None, spec: process.Spec, directory: Path, engine: str,
               run: int | None) -> Snapshot | None:
    """Save the state `spec` (a state pull) prints as run-`run`'s snapshot; None when no
    snapshots are kept or there is no state yet. A snapshot that cannot be saved stops
    the write: nothing tfhook writes may be without its way back."""
    if keeper is None:
        return None
    try:
        data = await pull(spec, directory)
    except ActionFailed as exc:
        raise ActionFailed(f"{exc}. Nothing was applied: the state is saved before each "
                           "apply") from None
    if not data.strip():
        return None
    try:
        return keeper.save(directory, engine, run, data)
    except OSError as exc:
        raise ActionFailed(f"cannot save the state of {directory} in {keeper.folder} "
                           f"({exc.strerror or exc}). Nothing was applied: the state is "
                           "saved before each apply") from None


def write_private(path: Path, data: bytes) -> None:
    """Write `path` whole, readable by its owner only (0600: states hold secrets); made
    beside it, then renamed over it."""
    part = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise


def _record(path: Path) -> Snapshot | None:
    try:
        data: Any = json.loads(path.read_bytes())
        return Snapshot(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None
