"""Terraform command lines, checked without running Terraform (as terraform-exec's `assertCmd`
in tfexec/plan_test.go): each test asserts the exact argv after the engine, order included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import HANG_GUARD
from support.terraform import tf_env
from typer.testing import CliRunner

from tfhook.cli import app as cli
from tfhook.cli import terraform as terraform_cli
from tfhook.core.hooks import Limits, TerraformAction
from tfhook.terraform import commands, engine, locate
from tfhook.terraform.commands import ApplyOptions, PlanOptions
from tfhook.terraform.refresh import Target
from tfhook.terraform.startup import NOTHING

VARS = Path("/p/variables.tfvars.json")


def _target(lock_timeout: float = 60.0, var_files: tuple[Path, ...] = ()) -> Target:
    action = TerraformAction(dir=Path("/tf"), engine="embedded", lock_timeout=lock_timeout,
                             var_files=var_files)
    return Target(action, engine.embedded(), {}, Limits(60, 1))


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


def test_start_up_check_plan_argv() -> None:
    target = _target(var_files=(Path("/a.tfvars"),))
    assert target.check_argv(VARS) == [
        "plan", "-refresh=false", "-lock=false", f"-target={NOTHING}", "-input=false", "-json",
        "-var-file=/a.tfvars", f"-var-file={VARS}"]
    assert _target().check_argv() == [
        "plan", "-refresh=false", "-lock=false", f"-target={NOTHING}", "-input=false", "-json"]


def test_plan_defaults() -> None:
    assert commands.plan(PlanOptions()) == ["plan", "-input=false", "-json"]


def test_plan_every_option() -> None:
    options = PlanOptions(refresh_only=True, refresh=False, lock=False, out=Path("whale"),
                   lock_timeout=22, targets=["zaphod", "beeblebrox"],
                   var_files=[Path("trillian"), Path("/marvin.json")])
    assert commands.plan(options) == [
        "plan", "-refresh-only", "-refresh=false", "-lock=false", "-out=whale",
        "-lock-timeout=22s", "-target=zaphod", "-target=beeblebrox", "-input=false", "-json",
        "-var-file=trillian", "-var-file=/marvin.json"]


def test_plan_a_person_runs_to_see_whether_the_lock_is_held() -> None:
    assert commands.plan(PlanOptions(lock_timeout=0, automation=False)) == ["plan", "-lock-timeout=0s"]


def test_apply() -> None:
    assert commands.apply(ApplyOptions(Path("/p/x.tfplan"), lock_timeout=0.5)) == [
        "apply", "-input=false", "-json", "-lock-timeout=500ms", "/p/x.tfplan"]
    assert commands.apply(ApplyOptions()) == ["apply", "-input=false", "-json"]
    assert commands.apply(ApplyOptions(automation=False)) == ["apply"]


def test_show_state_init_version_force_unlock() -> None:
    assert commands.show(Path("/p/x.tfplan")) == ["show", "-json", "-no-color", "/p/x.tfplan"]
    assert commands.state_pull() == ["state", "pull"]
    assert commands.state_push(Path("/p/s.tfstate")) == ["state", "push", "/p/s.tfstate"]
    assert commands.state_push(Path("/p/s.tfstate"), lock_timeout=60) == [
        "state", "push", "-lock-timeout=60s", "/p/s.tfstate"]
    assert commands.state_rm('a.b["c"]') == ["state", "rm", 'a.b["c"]']
    assert commands.init() == ["init", "-input=false", "-no-color"]
    assert commands.init(automation=False) == ["init"]
    assert commands.version() == ["version", "-json"]
    assert commands.force_unlock("9f3c-11") == ["force-unlock", "9f3c-11"]


@pytest.mark.parametrize(("seconds", "flag"), [
    (60.0, "60s"), (7.0, "7s"), (0.25, "250ms"), (0, "0s"), (1.5, "1500ms"),
    (1_080_000.0, "1080000s")])
def test_durations_are_ones_terraform_accepts(seconds: float, flag: str) -> None:
    assert commands.duration(seconds) == flag


def test_environment_is_automation_without_checkpoint_unless_asked() -> None:
    assert commands.environment({"PATH": "/bin", "TF_INPUT": "1", "TF_IN_AUTOMATION": ""}) == {
        "CHECKPOINT_DISABLE": "1", "PATH": "/bin", "TF_INPUT": "0", "TF_IN_AUTOMATION": "1"}
    assert commands.environment({"CHECKPOINT_DISABLE": ""})["CHECKPOINT_DISABLE"] == ""


def test_command_lines_told_to_a_person() -> None:
    where = Path("/srv/infra")
    assert commands.for_person(where, commands.force_unlock("ID")) == (
        "tfhook terraform -chdir=/srv/infra force-unlock ID")
    assert commands.for_person(where, commands.plan(PlanOptions(lock_timeout=0, automation=False))) \
        == "tfhook terraform -chdir=/srv/infra plan -lock-timeout=0s"
    assert commands.for_person(where, commands.init(automation=False)) == (
        "tfhook terraform -chdir=/srv/infra init")


def test_the_kill_message_names_the_commands_that_check_and_release_the_lock() -> None:
    assert _target().spec(["plan"], "terraform plan").if_killed == (
        "a Terraform killed this way may leave its state lock held: check with `tfhook "
        "terraform -chdir=/tf plan -lock-timeout=0s` (it fails at once, with the lock's ID, "
        "while the lock is held) and release it with `tfhook terraform -chdir=/tf force-unlock "
        "ID` once no Terraform runs on that state")


# -- `tfhook terraform ARGS`: one implementation, from the light console entry ---------------

def _imports_of_tfhook_terraform(tmp_path: Path, *args: str) -> tuple[set[str], str]:
    """The modules `tfhook terraform ARGS` imported (as the console script runs it), and
    its stderr without the import lines."""
    script = "import sys; from tfhook.cli.entry import main; sys.argv[0] = 'tfhook'; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script, "terraform", *args], cwd=tmp_path,
        env=tf_env(TFHOOK_TERRAFORM="bogus"), capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=HANG_GUARD, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    imported = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    return imported, "\n".join(line for line in lines if not line.startswith("import time:"))


def test_the_console_entry_runs_terraform_without_loading_anything_heavy(tmp_path: Path) -> None:
    imported, stderr = _imports_of_tfhook_terraform(tmp_path, "version")
    assert stderr == ("tfhook: error: TFHOOK_TERRAFORM: 'bogus' is not an executable "
                      "(use auto, embedded or a path)")
    assert "tfhook.terraform.locate" in imported  # the report saw the engine being chosen
    heavy = {"typer", "click", "grpc", "structlog", "asyncio", "typing", "shutil", "ctypes",
             "tfhook.cli.app", "tfhook.terraform.engine"}
    assert sorted(imported & heavy) == []


def test_the_typer_command_only_delegates(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(terraform_cli, "main", lambda args: seen.append(args) or 7)
    result = CliRunner().invoke(cli.app, ["terraform", "-chdir=x", "plan", "-lock=false"])
    assert (result.exit_code, seen) == (7, [["-chdir=x", "plan", "-lock=false"]])


def test_auto_finds_terraform_then_tofu_on_the_path_it_is_given(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for where, name in ((first, "tofu"), (second, "terraform"), (second, "tofu")):
        where.mkdir(exist_ok=True)
        (where / name).write_text("#!/bin/sh\n")
        (where / name).chmod(0o755)
    (first / "terraform").mkdir()  # a directory is not an executable
    search = f"{first}{os.pathsep}{second}"
    assert locate.find("auto", {"PATH": search}) == (str(second / "terraform"), "terraform")
    assert locate.which("tofu", search) == str(first / "tofu")
    assert locate.which("tofu", "") is None
