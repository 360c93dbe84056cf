"""Terraform command lines, checked without running Terraform (as terraform-exec's `assertCmd`
in tfexec/plan_test.go): each test asserts the exact argv after the engine, order included."""

from __future__ import annotations

from pathlib import Path

from tfhook.core.hooks import TerraformAction
from tfhook.terraform import engine
from tfhook.terraform.refresh import Target

VARS = Path("/p/variables.tfvars.json")


def _target(lock_timeout: float = 60.0, var_files: tuple[Path, ...] = ()) -> Target:
    action = TerraformAction(dir=Path("/tf"), engine="embedded", lock_timeout=lock_timeout,
                             var_files=var_files)
    return Target(action, engine.embedded(), {}, 60, 1)


def test_refresh_plan_argv() -> None:
    target = _target(0.25, (Path("/a.tfvars"), Path("b.tfvars")))
    assert target.plan_argv(["x.a", 'y["k"]'], Path("/p/refresh.tfplan"), VARS) == [
        "plan", "-refresh-only", "-out=/p/refresh.tfplan", "-lock-timeout=250ms",
        "-target=x.a", '-target=y["k"]', "-input=false", "-json",
        "-var-file=/a.tfvars", "-var-file=b.tfvars", f"-var-file={VARS}"]


def test_refresh_plan_argv_without_targets_or_variables() -> None:
    assert _target().plan_argv([], Path("/p/refresh.tfplan")) == [
        "plan", "-refresh-only", "-out=/p/refresh.tfplan", "-lock-timeout=60s",
        "-input=false", "-json"]


def test_apply_argv_applies_the_saved_plan_without_variables() -> None:
    target = _target(1_080_000.0, (Path("/a.tfvars"),))
    assert target.apply_argv(Path("/p/refresh.tfplan")) == [
        "apply", "-input=false", "-json", "-lock-timeout=1080000s", "/p/refresh.tfplan"]


def test_revert_plan_argv() -> None:
    target = _target(7.0, (Path("/a.tfvars"),))
    assert target.revert_argv(["x.a"], Path("/p/revert.tfplan"), VARS) == [
        "plan", "-refresh=false", "-out=/p/revert.tfplan", "-lock-timeout=7s",
        "-target=x.a", "-input=false", "-json", "-var-file=/a.tfvars", f"-var-file={VARS}"]
