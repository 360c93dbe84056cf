"""The systemd unit `tfhook init` writes (#24): Type=notify with a watchdog, the history in
StateDirectory=, a non-root user and hardening that leaves Terraform's directories writable;
systemd's own checks (`systemd-analyze verify` and `security`) accept it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.scaffold import scaffolded

from tfhook.scaffold import render as scaffold
from tfhook.scaffold import unit

TFHOOK = Path(sys.executable).with_name("tfhook")  # an executable ExecStart verify can find
EXPOSURE_AT_MOST = "30"  # `security --threshold` in tenths: 3.0 (measured 1.5; 1.7 under /tmp)


def directives(text: str) -> list[tuple[str, str]]:
    service = text.split("[Service]\n")[1].split("\n[")[0]
    return [tuple(line.split("=", 1)) for line in service.splitlines()  # type: ignore[misc]
            if line and not line.startswith("#")]


@pytest.mark.parametrize("kind", list(scaffold.KINDS))
def test_the_unit_is_notify_non_root_and_hardened(tmp_path: Path, kind: str) -> None:
    infra = tmp_path / "infra"
    infra.mkdir()
    args = ("--tf-dir", str(infra)) if kind.startswith("terraform") else ()
    directory = scaffolded(tmp_path, kind, "--tfhook-path", str(TFHOOK), *args)
    found = directives((directory / "tfhook.service").read_text())
    keys = dict(found)
    assert (keys["Type"], keys["NotifyAccess"], keys["WatchdogSec"]) == ("notify", "main", "30s")
    assert keys["ExecStart"].endswith(" --state-dir /var/lib/tfhook")
    assert (keys["StateDirectory"], keys["User"], keys["Group"]) == ("tfhook", "tfhook", "tfhook")
    assert (keys["NoNewPrivileges"], keys["ProtectSystem"]) == ("yes", "strict")
    writable = [value for key, value in found if key == "ReadWritePaths"]
    assert writable == [str(directory), *([str(infra)] if args else [])]
    assert keys["Environment"] == "TF_PLUGIN_CACHE_DIR=/var/cache/tfhook"
    assert keys["LimitNOFILE"] == "1024:524288"
    # tmp_path is under /tmp: PrivateTmp would hide it; nothing is under a home directory.
    assert "PrivateTmp" not in keys and keys["ProtectHome"] == "yes"


def test_protect_home_and_private_tmp_only_when_nothing_needed_lives_there() -> None:
    served = unit.context(["/usr/local/bin/tfhook"], "/srv/tfhook", "/srv/infra")
    assert (served["protect_home"], served["private_tmp"]) == (True, True)
    assert served["writable"] == ["/srv/tfhook", "/srv/infra"]
    inside = unit.context(["tfhook"], "/srv/tfhook", "/srv/tfhook/infra")
    assert inside["writable"] == ["/srv/tfhook"]
    pipx = unit.context(["/root/.local/bin/tfhook"], "/srv/tfhook", None)
    assert (pipx["protect_home"], pipx["home_paths"]) == (False, ["/root/.local/bin/tfhook"])
    home = unit.context(["/usr/bin/tfhook"], "/home/ops/tfhook", "/var/tmp/infra")
    assert (home["protect_home"], home["private_tmp"]) == (False, False)
    assert (home["home_paths"], home["tmp_paths"]) == (["/home/ops/tfhook"], ["/var/tmp/infra"])


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed (Debian package `systemd`)")
    return found


def test_systemd_analyze_verifies_the_unit_and_rates_it_ok(tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    directory = scaffolded(tmp_path, "terraform", "--tfhook-path", str(TFHOOK), "--tf-dir",
                           str(tmp_path / "infra"))
    service = str(directory / "tfhook.service")
    verify = subprocess.run([systemd_analyze(), "verify", service], capture_output=True,
                            text=True, timeout=60, check=False)
    assert (verify.returncode, verify.stdout, verify.stderr) == (0, "", "")
    security = subprocess.run([systemd_analyze(), "security", "--offline=true",
                               f"--threshold={EXPOSURE_AT_MOST}", "--no-pager", service],
                              capture_output=True, text=True, timeout=60, check=False)
    assert security.returncode == 0, security.stdout + security.stderr
    assert "Overall exposure level for tfhook.service: " in security.stdout


def test_without_tfhook_on_path_the_unit_runs_the_running_tfhook(tmp_path: Path) -> None:
    # A tfhook installed in a venv outside any checkout, called by its path, none on PATH.
    script = tmp_path / "venv" / "bin" / "tfhook"
    script.parent.mkdir(parents=True)
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom tfhook.cli.entry import main\n"
                      "sys.exit(main())\n")
    script.chmod(0o755)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text("")
    done = subprocess.run([str(script), "init", str(tmp_path / "out"), "--kind", "terraform",
                           "--tf-dir", str(tmp_path / "infra")], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    service = tmp_path / "out" / "tfhook.service"
    assert f"\nExecStart={script} serve " in service.read_text()
    verify = subprocess.run([systemd_analyze(), "verify", str(service)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert (verify.returncode, verify.stdout, verify.stderr) == (0, "", "")
