"""`tfhook init`: every kind is written and checked (files, unit, errors, templates)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml
from support import tools
from support.scaffold import init, install_tfhook, runner, scaffolded
from support.servers import ROOT, load_vectors

from tfhook import hook as hooklib
from tfhook.cli.app import app
from tfhook.config import settings as config
from tfhook.errors import UserError
from tfhook.scaffold import render as scaffold


@pytest.fixture(autouse=True)
def installed_tfhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `tfhook` on PATH outside the checkout, as an installed one would be."""
    return install_tfhook(tmp_path, monkeypatch)


def test_hook_helper_reads_every_golden_request() -> None:
    for vector in load_vectors():
        raw = json.loads(vector["go_json"])
        request = hooklib.parse_request(vector["go_json"].encode())
        assert request.raw == raw and request.resource_name == raw.get("resource_name", "")
        wrapper = raw.get("desired", raw.get("current"))
        if wrapper is None:
            assert request.resource is None
        else:
            assert request.resource is not None
            assert request.resource.kind == next(iter(wrapper["Resource"] or {""}))
        code = raw.get("instruction", raw.get("result", 0))
        assert code in (request.instruction, request.result), vector["name"]
    assert hooklib.parse_request('{"instruction":99}').describe() == "(no name) instruction 99"
    with pytest.raises(ValueError):
        hooklib.parse_request("[1]")


def test_list_shows_kinds_and_files() -> None:
    result = runner.invoke(app, ["init", "--list"])
    assert result.exit_code == 0
    for kind in ("terraform", "terraform-refresh", "shell", "python"):
        assert f"{kind}\n" in result.output
    assert "writes: hook.py, tfhook_hook.py, autoscaler-handlers.yaml" in result.output


@pytest.mark.parametrize(("args", "message"), [
    ([], "--kind is required"),
    (["--kind", "perl"], "--kind: 'perl' is not one of terraform, terraform-refresh, shell, "
                         "python"),
    (["--kind", "shell", "--name", "my hook"], "--name: 'my hook' must be"),
    (["--kind", "shell", "--handler-type", "after"], "--handler-type: 'after' is not one of"),
    (["--kind", "terraform-refresh", "--handler-type", "handle"], "works only as post-handle"),
    (["--kind", "shell", "--tf-dir", "."],
     "--tf-dir: only --kind terraform and terraform-refresh use it"),
    (["--kind", "terraform", "--handler-type", "handle"], "works only as post-handle"),
    (["--kind", "terraform-refresh", "--tf-dir", "nowhere"], "nowhere is not a directory"),
    (["--kind", "shell", "--addr", "unix:x.sock"], "give an absolute socket path"),
    (["--kind", "shell", "--addr", "localhost"], "use unix:PATH, unix:///ABS/PATH, unix-abstract:NAME"),
    (["--kind", "shell", "--addr", "unix:/" + "x" * 110], "longer than a socket path"),
    (["--kind", "shell", "--addr", "unix:/run/a\nb"], "holds control characters"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = init(tmp_path / "out", *args)
    assert result.exit_code == 2
    assert result.output.startswith("tfhook: error: ")
    assert message in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", [k for k in scaffold.KINDS if not scaffold.KINDS[k].routes])
def test_every_kind_is_complete_and_consistent(tmp_path: Path, kind: str, installed_tfhook: Path
                                               ) -> None:
    directory = scaffolded(tmp_path, kind, "--name", "web", "--addr", "unix:/run/tfhook/w.sock")
    hook = directory / scaffold.KINDS[kind].hook_file
    written = sorted(p.name for p in directory.iterdir())
    expected = [hook.name, "README.md", "autoscaler-handlers.yaml", "web.service"]
    assert written == sorted(expected + (["tfhook_hook.py"] if kind == "python" else []))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) & 0o111 for p in directory.iterdir()}
    assert modes.pop(hook.name) == 0o111 and not any(modes.values())
    core = yaml.safe_load((directory / "autoscaler-handlers.yaml").read_text())
    assert core == {"handlers": [{"name": "web", "endpoint": "unix:/run/tfhook/w.sock"}]}
    unit = (directory / "web.service").read_text()
    assert f"ExecStart={installed_tfhook} serve --executable-path {hook} --handler-type post-handle" \
        " --payload-argv none" in unit
    assert "--addr unix:/run/tfhook/w.sock " in unit and "RuntimeDirectory=tfhook\n" in unit
    readme = (directory / "README.md").read_text()
    assert f"./{hook.name}" in readme and "tfhook send" in readme and "web.service" in readme
    # The scaffold keeps secrets out of argv, and says so where a user reads it.
    assert "`--payload-argv none`" in readme and "--payload-argv none" in hook.read_text()
    for script in directory.glob("*.py"):
        compile(script.read_text(), str(script), "exec")
    # Nothing points into this checkout or its .venv: the scaffold outlives both.
    for path in directory.iterdir():
        assert str(ROOT) not in path.read_text(), path
    if kind != "shell":
        assert hook.read_text().startswith("#!/usr/bin/env python3\n")


def test_a_development_tfhook_on_path_is_not_what_the_unit_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only this checkout's tfhook on PATH (as with its .venv activated): it goes away with the
    # checkout, so the unit names plain `tfhook` and init says why.
    dev_bin = ROOT / ".venv" / "bin"
    assert (dev_bin / "tfhook").exists()
    monkeypatch.setenv("PATH", f"{dev_bin}{os.pathsep}/usr/bin{os.pathsep}/bin")
    result = init(tmp_path / "out", "--kind", "shell")
    assert result.exit_code == 0, result.output
    unit = (tmp_path / "out" / "tfhook.service").read_text()
    assert "\nExecStart=tfhook serve --executable-path " in unit
    assert "tfhook: warning: no installed tfhook on PATH" in result.stderr
    assert "--tfhook-path" in result.stderr
    # Unless that is what was asked for.
    asked = init(tmp_path / "dev", "--kind", "shell", "--tfhook-path", str(dev_bin / "tfhook"))
    assert asked.exit_code == 0 and "warning" not in asked.output, asked.output
    assert f"\nExecStart={dev_bin / 'tfhook'} serve " in (tmp_path / "dev" / "tfhook.service"
                                                         ).read_text()


@pytest.mark.parametrize("handler_type", ["pre-handle", "handle", "post-handle"])
def test_shell_hook_passes_bash_and_shellcheck(tmp_path: Path, handler_type: str) -> None:
    hook = scaffolded(tmp_path, "shell", "--handler-type", handler_type) / "hook.sh"
    subprocess.run(["bash", "-n", str(hook)], check=True)
    shellcheck = tools.which("shellcheck")
    if shellcheck is None:
        pytest.skip(f"shellcheck is not installed (Debian package `shellcheck`; {tools.HINT})")
    checked = subprocess.run([shellcheck, str(hook)], capture_output=True, text=True,
                             env=tools.env())
    assert checked.returncode == 0, checked.stdout


def test_shell_hook_says_when_jq_is_missing(tmp_path: Path) -> None:
    hook = scaffolded(tmp_path, "shell") / "hook.sh"
    empty = tmp_path / "empty-path"
    empty.mkdir()
    ran = subprocess.run([shutil.which("bash") or "bash", str(hook)], input=b"{}",
                         capture_output=True, env={"PATH": str(empty)})
    assert ran.returncode == 127
    assert b"this hook needs jq" in ran.stderr


def test_never_overwrites_and_names_the_file(tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "README.md").write_text("mine\n")
    result = init(tmp_path, "--kind", "python")
    assert result.exit_code == 2
    assert f"{tmp_path / 'README.md'} already exists; nothing written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    assert init(tmp_path, "--kind", "python", "--force").exit_code == 0
    assert (tmp_path / "README.md").read_text().startswith("# tfhook: a tfhook python hook")


def test_dry_run_prints_and_writes_nothing(tmp_path: Path) -> None:
    result = init(tmp_path / "out", "--kind", "shell", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"==> {tmp_path / 'out' / 'hook.sh'} (0755, not written) <==\n#!/usr/bin/env bash" in (
        result.output)
    assert "handlers:\n  - name: \"tfhook\"" in result.output
    assert not (tmp_path / "out").exists()


def test_dry_run_says_a_real_run_would_refuse(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("mine\n")
    result = init(out, "--kind", "shell", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"==> {out / 'README.md'} (0644, exists, not written) <==" in result.output
    assert (f"tfhook: warning: {out / 'README.md'} already exists: without --dry-run, "
            "tfhook init would stop and write nothing (use --force to overwrite)\n"
            ) in result.stderr
    assert "warning" not in result.stdout  # warnings go to stderr, the preview to stdout
    forced = init(out, "--kind", "shell", "--dry-run", "--force")
    assert f"tfhook: warning: --force would overwrite {out / 'README.md'}\n" in forced.output
    assert (out / "README.md").read_text() == "mine\n"
    fresh = init(tmp_path / "new", "--kind", "shell", "--dry-run")
    assert "warning" not in fresh.output and "exists" not in fresh.output


@pytest.mark.parametrize("kind", list(scaffold.KINDS))
def test_unit_lets_tfhook_stop_its_hooks(tmp_path: Path, kind: str) -> None:
    unit = (scaffolded(tmp_path, kind) / "tfhook.service").read_text()
    service = unit.split("[Service]\n")[1].split("\n[")[0]
    keys = dict(line.split("=", 1) for line in service.splitlines()
                if line and not line.startswith("#"))
    # SIGTERM to tfhook alone; the hook and Terraform get SIGKILL only after TimeoutStopSec.
    assert keys["KillMode"] == "mixed" and keys["KillSignal"] == "SIGTERM"
    argv = keys["ExecStart"].split()
    grace = config.parse_duration(argv[argv.index("--grace") + 1])
    kill_after = config.parse_duration(argv[argv.index("--kill-after") + 1])
    assert (grace, kill_after) == (config.Settings().grace, config.Limits().kill_after)
    assert config.parse_duration(keys["TimeoutStopSec"]) >= grace + kill_after + 15
    # A soft open files limit for the hooks, a hard one tfhook raises its own to.
    assert keys["LimitNOFILE"] == "1024:524288"


@pytest.mark.parametrize(("directory", "message"), [
    ("/proc/nope/hooks", "cannot create /proc/nope: No such file or directory"),
    ("/proc/self", "cannot write /proc/self/hook.sh: No such file or directory")])
def test_unwritable_directory_is_one_clear_line(directory: str, message: str) -> None:
    # Under /proc nothing can be created, not even by root.
    ran = subprocess.run([sys.executable, "-m", "tfhook", "init", directory, "--kind", "shell"],
                         capture_output=True, text=True)
    assert ran.returncode == 2 and ran.stdout == ""
    (line,) = ran.stderr.splitlines()
    assert line == f"tfhook: error: {message}"


def test_a_failed_write_leaves_no_new_files(tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "blocker").write_text("a file where a directory should be\n")
    files = [scaffold.File(tmp_path / "a.txt", "a\n", ""),
             scaffold.File(tmp_path / "blocker" / "b.txt", "b\n", "")]
    with pytest.raises(UserError, match=f"cannot create {tmp_path / 'blocker'}: "):
        scaffold.write(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


@pytest.mark.parametrize(("tf_files", "with_tf_dir"), [
    ([], False), ([], True), (["main.tf"], False), (["main.tf.json"], True)])
def test_terraform_refresh_warns_without_tf_files(tmp_path: Path, tf_files: list[str],
                                                  with_tf_dir: bool) -> None:
    tf_dir = tmp_path / ("tf" if with_tf_dir else "terraform-refresh")
    tf_dir.mkdir()
    for name in tf_files:
        (tf_dir / name).write_text("")
    args = ["--tf-dir", str(tf_dir)] if with_tf_dir else []
    directory = scaffolded(tmp_path, "terraform-refresh", *args)
    result = init(directory, "--kind", "terraform-refresh", "--force", *args)
    problem = (f"{tf_dir} has no .tf files: the hook runs terraform there and fails on every "
               "event until it has some")
    warning = (f"tfhook: warning: --tf-dir: {problem}\n" if with_tf_dir else
               f"tfhook: warning: {problem} (add them, or point --tf-dir at your Terraform "
               "directory)\n")
    assert result.exit_code == 0
    assert (warning in result.output) is not bool(tf_files), result.output
    assert ("warning" in result.output) is not bool(tf_files)


def test_templates_render_strictly() -> None:
    env = scaffold.jinja_env()
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("common/handlers.yaml.j2").render(kind="shell")
    assert env.from_string("{{ x }}\n").render(x=1) == "1\n"


def test_templates_are_found_through_the_package_in_a_checkout() -> None:
    # The editable install finds them where a wheel has them (tests/cli/test_install.py): as
    # tfhook/scaffold/templates, here a symlink to the top-level templates/.
    root = scaffold.templates_root()
    assert root == ROOT / "tfhook" / "scaffold" / "templates"
    assert root.resolve() == (ROOT / "templates").resolve()
    assert sorted(p.name for p in root.iterdir()) == ["common", "python", "shell", "terraform",
                                                      "terraform-refresh"]
