"""`make demo`'s script, examples/demo.py, run whole: with the simcloud provider (a real drift)
and without it (the built-in module, offline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import ROOT
from support.simcloud import provider_dir
from support.terraform import tf_env


def run_demo(tmp_path: Path, **env: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")], cwd=tmp_path,
                          env=tf_env(**env), text=True,
                          capture_output=True, timeout=110, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_demo_shows_a_real_drift_and_the_loop_closed(tmp_path: Path) -> None:
    where = provider_dir()
    if where is None:
        pytest.skip("the simcloud provider is not installed: run `make simcloud`")
    out = run_demo(tmp_path, TFHOOK_SIMCLOUD_DIR=str(where))

    assert "the simulated cloud's provider" in out
    assert "drifted 1: simcloud_elb.main (plan 100 -> 400, " in out
    assert "outputs changed 1: elb_plan: 100 → 400" in out
    # The warning, then converge, then a plain plan with no changes (#22).
    warning = out.index("simcloud_elb.main: plan 400 -> 100 on the next apply; set by "
                        "var.elb_plan (main.tf:")
    converged = out.index("converged: var.elb_plan = 400 (autoscaler.auto.tfvars.json); the "
                          "next apply keeps 400")
    assert warning < converged < out.index('"elb_plan": 400') < out.index("No changes.")
    assert "not installed" not in out


@pytest.mark.slow
def test_the_demo_falls_back_to_the_built_in_module(tmp_path: Path) -> None:
    out = run_demo(tmp_path, TFHOOK_SIMCLOUD_DIR=str(tmp_path / "nowhere"))

    assert "the simulated cloud's provider is not installed" in out
    assert "\n== " in out and "\033" not in out  # headings, without escapes in a pipe
    assert "drifted: none" in out
    assert "outputs changed 1: elb_plan: 100 → 400" in out
    assert "simcloud" not in out.split("showing the built-in module")[1]
