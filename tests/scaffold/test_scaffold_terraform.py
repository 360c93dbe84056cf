"""`tfhook init --kind terraform`: a routes file for the built-in Terraform mode, its unit
(with ExecReload), the Core's entry and a README; served live with embedded Terraform."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import sys
from pathlib import Path

import yaml
from support.servers import launch, run_tfhook, wait_for
from support.terraform import TfServer, elb_plan, simulate, tf_env, updated

from tfhook.config import options


def unit_keys(unit: str) -> dict[str, str]:
    service = unit.split("[Service]\n")[1].split("\n[")[0]
    return dict(line.split("=", 1) for line in service.splitlines()
                if line and not line.startswith("#"))


def test_init_terraform_writes_a_routes_file_served_and_reloaded(demo_template: Path,
                                                                 tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(demo_template, site / "infra", symlinks=True)
    tfhook = Path(sys.executable).parent / "tfhook"  # asked for: the unit runs this one
    result = run_tfhook(["init", ".", "--kind", "terraform", "--tf-dir", "infra", "--addr",
                         "unix:/run/tfhook/tf.sock", "--tfhook-path", str(tfhook)], cwd=site)
    assert result.returncode == 0, result.stderr
    written = {p.name: stat.S_IMODE(p.stat().st_mode) & 0o111 for p in site.iterdir()
               if p.is_file()}
    assert written == {"tfhook.yaml": 0, "autoscaler-handlers.yaml": 0, "tfhook.service": 0,
                       "README.md": 0}
    routes = yaml.safe_load((site / "tfhook.yaml").read_text())
    assert routes == {"routes": [{"name": "terraform", "terraform": {"dir": "infra"}}]}
    check = run_tfhook(["routes", "check", "tfhook.yaml"], cwd=site)
    assert (check.returncode, check.stdout) == (0, "tfhook.yaml: 1 route OK: terraform\n")
    core = yaml.safe_load((site / "autoscaler-handlers.yaml").read_text())
    assert core == {"handlers": [{"name": "tfhook", "endpoint": "unix:/run/tfhook/tf.sock"}]}
    keys = unit_keys((site / "tfhook.service").read_text())
    assert keys["ExecReload"] == "/bin/kill -HUP $MAINPID"
    argv = keys["ExecStart"].split()
    assert argv[:5] == [str(tfhook), "serve", "--routes", str(site / "tfhook.yaml"), "--addr"]
    readme = (site / "README.md").read_text()
    assert "tfhook routes check tfhook.yaml" in readme and "systemctl reload" in readme

    # The unit's own command line, on a socket of ours, with no terraform on PATH (auto
    # falls back to the embedded engine).
    sock = tmp_path / "tf.sock"
    argv[argv.index("--addr") + 1] = f"unix:{sock}"
    path = os.pathsep.join(d for d in ("/usr/bin", "/bin")
                           if not any(Path(d, t).exists() for t in ("terraform", "tofu")))
    server = launch(TfServer, argv, cwd=site, target=f"unix:{sock}", env=tf_env(PATH=path),
                    timeout=60, sock=sock)
    try:
        simulate(site / "infra", 400)
        done = server.call("PostHandle", updated())[-1]
        assert done[0] == "DONE" and "elb_plan: 100 → 400" in done[1], done
        assert elb_plan(site / "infra") == 400
        assert server.call("PostHandle", updated(result="NO_CHANGE"))[0][0] == "IGNORED"
        server.proc.send_signal(signal.SIGHUP)  # what ExecReload does
        wait_for(lambda: 'event="routes reloaded"' in server.log(), what="the reload")
        assert server.call("PostHandle", updated())[-1][0] == "DONE"
    finally:
        server.close()


def test_scaffolded_files_describe_the_refresh_that_runs_and_every_route_key(
        tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    written = {}
    for kind in ("terraform", "terraform-refresh", "shell", "python"):
        site = tmp_path / kind
        args = ["--tf-dir", "infra"] if kind.startswith("terraform") else []
        result = run_tfhook(["init", str(site), "--kind", kind, *args], cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        written |= {f"{kind}/{p.name}": p.read_text() for p in site.iterdir() if p.is_file()}
    assert [name for name, text in written.items() if "auto-approve" in text] == []
    routes_file = written["terraform/tfhook.yaml"]
    assert "plan -refresh-only" in routes_file and "apply FILE" in routes_file
    missing = [o.route for o in options.OPTIONS if o.route and f"#   {o.route}" not in routes_file]
    assert missing == []
    assert yaml.safe_load(routes_file) == {"routes": [{"name": "terraform", "terraform": {
        "dir": str(tmp_path / "infra")}}]}  # the key list is all comments
