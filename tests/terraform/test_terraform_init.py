"""`terraform init` at start (#12): one directory at a time across routes, and a failure
shows Terraform's own message, whole."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

from support.servers import launch, tfhook_command, write_script
from support.terraform import TfServer, serve_command, tf_env, write_module

from tfhook.core.hooks import Hook, TerraformAction
from tfhook.terraform.directory import Directory

REGISTRY_MODULE = {"main.tf": 'terraform {\n  required_providers {\n    sakuracloud = {\n'
                              '      source  = "sacloud/sakuracloud"\n'
                              '      version = "~> 2.25"\n    }\n  }\n}\n'}
# The registry's provider service on a closed loopback port: unreachable with or without a
# network, as on a machine that cannot reach registry.terraform.io.
UNREACHABLE = ('host "registry.terraform.io" {\n  services = {\n'
               '    "providers.v1" = "http://127.0.0.1:9/v1/providers/"\n  }\n}\n')


def test_init_that_cannot_reach_a_registry_shows_terraforms_message(tmp_path: Path) -> None:
    tf_dir = write_module(tmp_path / "sakura", REGISTRY_MODULE)
    cli_config = tmp_path / "unreachable.tfrc"
    cli_config.write_text(UNREACHABLE)

    result = subprocess.run(
        serve_command(tf_dir, tmp_path / "never.sock", "--init"), cwd=tmp_path,
        env=tf_env(TF_CLI_CONFIG_FILE=str(cli_config)), text=True, capture_output=True,
        timeout=120, stdin=subprocess.DEVNULL, check=False)

    assert result.returncode == 2, result.stderr
    line, = result.stderr.strip().splitlines()
    assert line.startswith(f"tfhook: error: --init: terraform init failed in {tf_dir}: "
                           "Error: Failed to query available provider packages Could not "
                           "retrieve the list of available versions for provider "
                           "sacloud/sakuracloud"), line
    assert "127.0.0.1:9" in line
    # Whole: Terraform's closing advice is there too, with no progress noise before it.
    assert line.endswith("run the following command: terraform providers"), line
    assert "Initializing" not in line and "  " not in line


def _recording_engine(where: Path, marks: Path) -> Path:
    """The real embedded engine, marking each init's start and end; the pause keeps an init
    running long enough for another to overlap it, were they not serialised."""
    return write_script(where / "engine", f"""
if [ "$1" = init ]; then echo "start $(basename "$PWD")" >> {marks}; sleep 0.5; fi
"{sys.executable}" -m tfhook.terraform.embedded "$@"; code=$?
if [ "$1" = init ]; then echo "end $(basename "$PWD")" >> {marks}; fi
exit $code
""")


def _one_at_a_time(lines: list[str], names: tuple[str, ...]) -> None:
    assert sorted(lines) == sorted(f"{e} {n}" for e in ("start", "end") for n in names), lines
    for first in range(0, len(lines), 2):  # each start is followed by its own end
        assert lines[first].split()[0] == "start", lines
        assert lines[first + 1] == "end " + lines[first].split()[1], lines


def test_inits_started_together_run_one_at_a_time(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    engine = _recording_engine(tmp_path, marks)
    names = ("one", "two", "three")
    directories = [Directory(Hook(name, TerraformAction(
        dir=write_module(tmp_path / name, {"main.tf": 'output "x" {\n  value = 1\n}\n'}),
        engine=str(engine), init=True)), tf_env()) for name in names]

    async def start_all() -> None:
        await asyncio.gather(*(d.check(init=True) for d in directories))

    asyncio.run(start_all())
    _one_at_a_time(marks.read_text().splitlines(), names)


def test_routes_init_one_directory_at_a_time(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    engine = _recording_engine(tmp_path, marks)
    routes = ["routes:"]
    for name in ("one", "two", "three"):
        write_module(tmp_path / name, {"main.tf": 'output "x" {\n  value = 1\n}\n'})
        routes += [f"  - name: {name}", "    match: {resource_name: " + name + "}",
                   f"    terraform: {{dir: {name}, terraform: {engine}, init: true}}"]
    (tmp_path / "tfhook.yaml").write_text("\n".join(routes) + "\n")
    sock = tmp_path / f"s-{uuid.uuid4().hex[:6]}.sock"
    server = launch(TfServer, tfhook_command("serve", "--routes", str(tmp_path / "tfhook.yaml"),
                                             "--addr", f"unix:{sock}"),
                    cwd=tmp_path, target=f"unix:{sock}", env=tf_env(), timeout=90, sock=sock)
    try:
        lines = marks.read_text().splitlines()
    finally:
        server.close()
    _one_at_a_time(lines, ("one", "two", "three"))
