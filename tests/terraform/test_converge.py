"""Converge (#22): after an UPDATED event the variables file tfhook owns holds what the
autoscaler did, and a plain `terraform plan` (tfhook not involved) has no changes. Real
servers, the embedded engine and the simulated cloud (only the cloud API is simulated)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from support.servers import HANG_GUARD, launch, tfhook_command
from support.simcloud import ELB_ID, SimCloud, main_tf
from support.terraform import Recorder, TfServer, updated

from tfhook.core.decisions import Who
from tfhook.core.hooks import Converge, Hook, TerraformAction
from tfhook.core.observer import Observers
from tfhook.errors import ActionFailed
from tfhook.history import History
from tfhook.observe.history_sink import HistorySink
from tfhook.terraform.directory import Directory
from tfhook.terraform.held import Shelf

VARS = "autoscaler.auto.tfvars.json"
VARIABLES_TF = 'variable "elb_plan" {\n  type    = number\n  default = 100\n}\n'
HINT = "add it to lifecycle.ignore_changes or change the configuration"
GIT = pytest.mark.skipif(shutil.which("git") is None, reason="no git on this machine")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def cloud_with(make_simcloud, plan: str, files: dict[str, str] | None = None) -> SimCloud:
    """The simcloud module with the ELB plan set by `plan` (and `files` beside it), applied."""
    cloud = make_simcloud(main_tf=main_tf(plan=plan, elb_ignore=()), apply=False)  # type: ignore[arg-type]
    for name, text in {"variables.tf": VARIABLES_TF, **(files or {})}.items():
        (cloud.dir / name).parent.mkdir(parents=True, exist_ok=True)
        (cloud.dir / name).write_text(text, encoding="utf-8")
    cloud.apply()
    return cloud


def routes(tmp_path: Path, cloud: SimCloud, converge: str = f"{{vars_file: {VARS}}}",
           extra: str = "") -> Path:
    path = tmp_path / "tfhook.yaml"
    path.write_text("routes:\n  - name: elb\n    terraform:\n"
                    f"      dir: {cloud.dir}\n      terraform: embedded\n"
                    + (f"      converge: {converge}\n" if converge else "") + extra)
    return path


def serve(tmp_path: Path, cloud: SimCloud, routes_file: Path, **env: str) -> TfServer:
    sock = tmp_path / f"s-{uuid.uuid4().hex[:6]}.sock"
    return launch(TfServer, tfhook_command("serve", "--routes", str(routes_file), "--addr",
                                           f"unix:{sock}", "--state-dir", str(tmp_path / "state")),
                  cwd=tmp_path, target=f"unix:{sock}", env={**cloud.env, **env},
                  timeout=HANG_GUARD, sock=sock)


def event(tmp_path: Path, cloud: SimCloud, routes_file: Path, **env: str) -> str:
    """Serve, let the autoscaler move the ELB to plan 400, send UPDATED: the DONE's text."""
    server = serve(tmp_path, cloud, routes_file, **env)
    try:
        cloud.change("elb", ELB_ID, plan=400)
        status, text = server.call("PostHandle", updated())[-1]
    finally:
        server.close()
    assert status == "DONE", text
    return text


def plan_line(cloud: SimCloud) -> int:
    """The line of main.tf that sets the ELB plan."""
    lines = (cloud.dir / "main.tf").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith("  plan "))


def plain_plan(cloud: SimCloud) -> int:
    """`terraform plan -detailed-exitcode` run by the engine itself, no tfhook server."""
    return cloud.terraform("plan", "-detailed-exitcode", "-input=false", "-no-color",
                           check=False).returncode


def test_a_variable_follows_the_autoscaler(make_simcloud, tmp_path: Path) -> None:
    cloud = cloud_with(make_simcloud, "var.elb_plan", {
        "note.tf": 'variable "note" {\n  default = ""\n}\n'})
    (cloud.dir / VARS).write_text('{"note": "kept"}\n')
    assert plain_plan(cloud) == 0

    text = event(tmp_path, cloud, routes(tmp_path, cloud))

    assert ("warning: simcloud_elb.main: plan 400 -> 100 on the next apply; set by "
            "var.elb_plan (variables.tf:1)") in text.splitlines()
    assert text.splitlines()[-1] == (f"converged: var.elb_plan = 400 ({VARS}); the next apply "
                                     "keeps 400")
    assert json.loads((cloud.dir / VARS).read_text()) == {"note": "kept", "elb_plan": 400}
    assert plain_plan(cloud) == 0


MODULE_ELB = ('terraform {\n  required_providers {\n    simcloud = { source = "tfhook/simcloud" }\n'
              '  }\n}\n\nvariable "plan" {\n  type = number\n}\n\nvariable "servers" {\n'
              '  type = list(string)\n}\n\nresource "simcloud_elb" "main" {\n'
              '  name    = "demo-elb"\n  plan    = var.plan\n  servers = var.servers\n}\n')


def test_through_a_module_call(make_simcloud, tmp_path: Path) -> None:
    root = main_tf(plan=None, elb_ignore=()).split('resource "simcloud_elb"')[0] + (
        'module "elb" {\n  source  = "./modules/elb"\n  plan    = var.elb_plan\n'
        "  servers = simcloud_server.web[*].id\n}\n")
    cloud = make_simcloud(main_tf=root, apply=False)
    (cloud.dir / "variables.tf").write_text(VARIABLES_TF)
    (cloud.dir / "modules" / "elb").mkdir(parents=True)
    (cloud.dir / "modules" / "elb" / "main.tf").write_text(MODULE_ELB)
    cloud.terraform("get", "-no-color")  # a local module: no registry, no provider install
    cloud.apply()

    text = event(tmp_path, cloud, routes(tmp_path, cloud))

    assert ("warning: module.elb.simcloud_elb.main: plan 400 -> 100 on the next apply; set by "
            "var.elb_plan (variables.tf:1)") in text.splitlines()
    assert f"converged: var.elb_plan = 400 ({VARS}); the next apply keeps 400" in text
    assert json.loads((cloud.dir / VARS).read_text()) == {"elb_plan": 400}
    assert plain_plan(cloud) == 0


def test_an_expression_of_a_variable_is_not_written(make_simcloud, tmp_path: Path) -> None:
    cloud = cloud_with(make_simcloud, "var.elb_plan * 1")

    text = event(tmp_path, cloud, routes(tmp_path, cloud))

    line = next(line for line in text.splitlines() if "next apply" in line)
    assert line == ("warning: simcloud_elb.main: plan 400 -> 100 on the next apply; set by "
                    f"`var.elb_plan * 1` (main.tf:{plan_line(cloud)}): not exactly one variable, so converge "
                    f"writes nothing; {HINT}")
    assert "converged" not in text
    assert not (cloud.dir / VARS).exists()


@GIT
def test_a_constant_gets_a_diff_that_git_applies(make_simcloud, tmp_path: Path) -> None:
    cloud = make_simcloud(main_tf=main_tf(elb_ignore=()))  # plan = 100, a constant

    text = event(tmp_path, cloud, routes(tmp_path, cloud))

    assert ("warning: simcloud_elb.main: plan 400 -> 100 on the next apply; a constant in "
            f"main.tf:{plan_line(cloud)}") in text.splitlines()
    run = text.splitlines()[-1].removeprefix("suggested change: tfhook runs diff ")
    assert run.startswith("run-"), text
    shown = subprocess.run(tfhook_command("runs", "diff", run, "--state-dir",
                                          str(tmp_path / "state")),
                           capture_output=True, text=True, timeout=HANG_GUARD, check=True)
    assert "-  plan    = 100\n+  plan    = 400\n" in shown.stdout
    assert not (cloud.dir / VARS).exists()
    assert plain_plan(cloud) == 2  # nothing edited the .tf file
    subprocess.run(["git", "apply"], input=shown.stdout, cwd=cloud.dir, text=True, check=True,
                   timeout=HANG_GUARD)
    assert plain_plan(cloud) == 0


def git(where: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=True,
                          timeout=HANG_GUARD, env={**GIT_ENV, "PATH": "/usr/bin:/bin",
                                                   "HOME": str(where)}).stdout


def git_cloud(make_simcloud) -> SimCloud:
    cloud = cloud_with(make_simcloud, "var.elb_plan")
    (cloud.dir / VARS).write_text('{"elb_plan": 100}\n')
    (cloud.dir / ".gitignore").write_text("terraform.tfstate*\n.terraform*\ncloud.json\n")
    git(cloud.dir, "init", "-q", "-b", "main")
    git(cloud.dir, "add", ".")
    git(cloud.dir, "commit", "-q", "-m", "first")
    return cloud


@GIT
def test_commit_commits_the_variables_file_alone(make_simcloud, tmp_path: Path) -> None:
    cloud = git_cloud(make_simcloud)
    (cloud.dir / "staged.tf").write_text("# someone's work in progress\n")
    git(cloud.dir, "add", "staged.tf")

    text = event(tmp_path, cloud, routes(tmp_path, cloud, f"{{vars_file: {VARS}, commit: true}}"),
                 **GIT_ENV)

    assert "converged: var.elb_plan = 400" in text
    assert text.splitlines()[-1].startswith(f"committed {VARS} on main (")
    assert git(cloud.dir, "show", "--name-only", "--format=%s", "HEAD").split() == [
        "tfhook", "converge:", "var.elb_plan", "=", "400", VARS]
    assert "job job-1" in git(cloud.dir, "log", "-1", "--format=%b")
    assert git(cloud.dir, "status", "--porcelain").splitlines() == ["A  staged.tf"]


@GIT
def test_uncommitted_changes_are_not_overwritten(make_simcloud, tmp_path: Path) -> None:
    cloud = git_cloud(make_simcloud)
    mine = '{"elb_plan": 200}\n'
    (cloud.dir / VARS).write_text(mine)

    text = event(tmp_path, cloud, routes(tmp_path, cloud, f"{{vars_file: {VARS}, commit: true}}"),
                 **GIT_ENV)

    assert text.splitlines()[-1] == (f"not converged: {VARS} has changes nobody committed (git "
                                     "status M); tfhook does not overwrite them: commit or "
                                     "discard them")
    assert (cloud.dir / VARS).read_text() == mine
    assert git(cloud.dir, "log", "--format=%s").split() == ["first"]


@GIT
def test_an_ignored_file_is_written_not_added(make_simcloud, tmp_path: Path) -> None:
    cloud = git_cloud(make_simcloud)
    git(cloud.dir, "rm", "-q", "--cached", VARS)
    (cloud.dir / ".gitignore").write_text("*.auto.tfvars.json\nterraform.tfstate*\ncloud.json\n")
    git(cloud.dir, "commit", "-q", "-am", "untrack")

    text = event(tmp_path, cloud, routes(tmp_path, cloud, f"{{vars_file: {VARS}, commit: true}}"),
                 **GIT_ENV)

    assert text.splitlines()[-1] == (f"not committed: git ignores {VARS} (tfhook does not "
                                     "force-add it)")
    assert json.loads((cloud.dir / VARS).read_text()) == {"elb_plan": 400}
    assert plain_plan(cloud) == 0


def test_a_route_var_on_a_converged_variable_is_refused(make_simcloud, tmp_path: Path) -> None:
    cloud = cloud_with(make_simcloud, "var.elb_plan")
    path = routes(tmp_path, cloud, extra="      var: {elb_plan: 100}\n")

    checked = subprocess.run(tfhook_command("routes", "check", str(path)), capture_output=True,
                             text=True, timeout=HANG_GUARD, env=cloud.env, cwd=tmp_path)
    served = subprocess.run(tfhook_command("serve", "--routes", str(path), "--addr",
                                           f"unix:{tmp_path}/never.sock"), capture_output=True,
                            text=True, timeout=HANG_GUARD, env=cloud.env, cwd=tmp_path)

    why = (f"routes[0] (elb): terraform.converge: var.elb_plan (main.tf:{plan_line(cloud)}) "
           f"is converge's, but the route's var sets it and would override {VARS}: remove it from the route")
    assert checked.returncode == 2 and why in checked.stderr, checked.stderr
    assert served.returncode == 2 and why in served.stderr, served.stderr


def test_converge_off_is_todays_warning(make_simcloud, tmp_path: Path) -> None:
    cloud = cloud_with(make_simcloud, "var.elb_plan")

    text = event(tmp_path, cloud, routes(tmp_path, cloud, converge=""))

    assert text.splitlines()[-1] == (f"warning: simcloud_elb.main: plan 400 -> 100 on the next "
                                     f"apply; {HINT}")
    assert not (cloud.dir / VARS).exists()
    assert plain_plan(cloud) == 2


def test_no_engine_command_when_nothing_would_be_reverted(make_simcloud, tmp_path: Path) -> None:
    cloud = make_simcloud()  # the default module: plan is in ignore_changes
    recorder = Recorder.create(tmp_path)
    engine = f"\n      terraform: {recorder.path}\n"
    path = routes(tmp_path, cloud, extra="").read_text().replace("\n      terraform: embedded\n",
                                                                 engine)
    (tmp_path / "tfhook.yaml").write_text(path)

    text = event(tmp_path, cloud, tmp_path / "tfhook.yaml")

    assert "drifted 1: simcloud_elb.main (plan 100 -> 400, explained by job" in text
    assert "next apply" not in text
    commands = [argv[0] for argv, _ in recorder.invocations()]
    # start-up: version and the plan of nothing; the event: the refresh plan, its show and
    # apply (after its snapshot, a state pull), the revert check's plan (it found nothing:
    # no show, and converge adds nothing)
    assert sorted(commands) == ["apply", "plan", "plan", "plan", "show", "state", "version"]
    assert not (cloud.dir / VARS).exists()


def test_an_approved_held_plan_is_checked_and_converged(make_simcloud, tmp_path: Path) -> None:
    """Approving a held plan applies it like a refresh's: the revert check and converge
    follow, and the answer says what they found and did."""
    cloud = cloud_with(make_simcloud, "var.elb_plan")
    state = tmp_path / "state"
    cloud.change("elb", ELB_ID, plan=400)

    async def main() -> str:
        history = History(state, keep=86400.0)
        hook = Hook("elb", TerraformAction(dir=cloud.dir, engine="embedded",
                                           unexplained_drift="hold",
                                           converge=Converge(VARS)))
        directory = Directory(hook, dict(cloud.env), Observers([HistorySink(history)]),
                              Shelf(state / "held", 86400.0, "unix:/run/tfhook.sock"))
        try:
            with pytest.raises(ActionFailed, match="held as run-1"):
                async for _ in directory.flight.join("reconcile", background=True):
                    pass
            return await directory.approve(1, Who("alice"))
        finally:
            await directory.close()
            await history.flush()
            history.close()

    lines = asyncio.run(main()).splitlines()

    assert lines[0] == (f"applied run-1 in {cloud.dir}: simcloud_elb.main (plan 100 -> 400, "
                        "not explained by any event)"), lines
    assert lines[1:] == [
        "warning: simcloud_elb.main: plan 400 -> 100 on the next apply; set by var.elb_plan "
        "(variables.tf:1)",
        f"converged: var.elb_plan = 400 ({VARS}); the next apply keeps 400"], lines
    assert json.loads((cloud.dir / VARS).read_text()) == {"elb_plan": 400}
    assert plain_plan(cloud) == 0


def test_runs_diff_says_when_the_state_directory_does_not_exist(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    shown = subprocess.run(tfhook_command("runs", "diff", "run-1", "--state-dir", str(nowhere)),
                           capture_output=True, text=True, timeout=HANG_GUARD, check=False)
    assert (shown.returncode, shown.stdout) == (2, ""), shown
    assert shown.stderr == (f"tfhook: error: {nowhere} does not exist: no history, so no "
                            "suggested change of run-1 (give the server's state directory)\n")
