"""The snapshot files: private, one record each, pruned per directory by count and by age."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tfhook.terraform.snapshots import KEEP_AGE, Keeper

DAY = 86400.0


def state(serial: int) -> bytes:
    return json.dumps({"version": 4, "serial": serial, "lineage": "L", "resources": []}).encode()


def test_snapshots_are_pruned_per_directory_by_count_and_by_age(tmp_path: Path) -> None:
    keeper = Keeper(tmp_path, keep=2)
    now = 100 * DAY
    a, b = tmp_path / "a", tmp_path / "b"
    keeper.save(b, "embedded", 1, state(1), now=now - KEEP_AGE - DAY)  # too old, alone in b
    for run, age in ((2, 3), (3, 2), (4, 1)):
        keeper.save(a, "embedded", run, state(run), now=now - age * DAY)

    assert [s.run for s in keeper.records(str(a))] == [3, 4]  # the newest 2 of a
    assert keeper.prune(str(b), now) == ["run-1"]  # b's one snapshot, by age
    assert sorted(p.name for p in keeper.folder.iterdir()) == [
        "run-3.json", "run-3.tfstate", "run-4.json", "run-4.tfstate"]
    shot = keeper.find(4)
    assert shot is not None and (shot.serial, shot.lineage, shot.size) == (4, "L", len(state(4)))
    assert keeper.read(shot) == state(4) and keeper.find(2) is None
    assert stat.S_IMODE(keeper.folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in keeper.folder.iterdir()} == {0o600}
