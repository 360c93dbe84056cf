"""Runs that applied nothing keep no snapshot: a held plan approved when stale, whether
planning again finds nothing left or holds a new plan (run-1 superseded). Terraform, its
state, the history and `tfhook state snapshots` are real."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from support.held import held_directory, hold_run_1
from support.servers import HANG_GUARD, tfhook_command
from support.simcloud import ELB_ID, SimCloud

from tfhook.core.decisions import Refused, Who


def _approve_stale(cloud: SimCloud, state_dir: Path, more: bool) -> str:
    """Hold the ELB's drift as run-1, let the state move on, then approve run-1."""
    web = cloud.id_of("simcloud_server.web[0]")
    cloud.change("elb", ELB_ID, plan=400)

    async def main() -> str:
        async with held_directory(cloud, state_dir) as directory:
            await hold_run_1(directory)
            # Someone refreshes by hand: the held plan is stale.
            cloud.change("server", web, memory=4)
            targets = ["-target=simcloud_server.web[0]"] + ([] if more else
                                                              ["-target=simcloud_elb.main"])
            cloud.terraform("apply", "-refresh-only", "-auto-approve", "-input=false", *targets)
            if more:  # and the cloud drifts once more: planning again changes more
                cloud.change("server", cloud.id_of("simcloud_server.web[1]"), memory=8)
            with pytest.raises(Refused) as refused:
                await directory.approve(1, Who("alice"))
            return str(refused.value)
    return asyncio.run(main())


def _listed(cloud: SimCloud, state_dir: Path) -> str:
    done = subprocess.run(tfhook_command("state", "snapshots", str(cloud.dir), "--state-dir",
                                         str(state_dir)), capture_output=True, text=True,
                          env=cloud.env, timeout=HANG_GUARD, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_stale_approval_with_nothing_left_keeps_no_snapshot(simcloud: SimCloud,
                                                             tmp_path: Path) -> None:
    state_dir = tmp_path / "state"

    refused = _approve_stale(simcloud, state_dir, more=False)

    assert "nothing left to apply; run-1 is discarded" in refused, refused
    assert not list((state_dir / "snapshots").glob("run-1.*"))
    assert "run-1" not in _listed(simcloud, state_dir)


def test_a_stale_approval_held_again_keeps_no_snapshot(simcloud: SimCloud,
                                                       tmp_path: Path) -> None:
    state_dir = tmp_path / "state"

    refused = _approve_stale(simcloud, state_dir, more=True)

    assert "the new plan is held as run-2" in refused, refused
    assert not list((state_dir / "snapshots").glob("run-*.*"))
    assert "run-1" not in _listed(simcloud, state_dir)
