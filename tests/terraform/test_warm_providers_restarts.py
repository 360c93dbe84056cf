"""Warm providers (#25), continued: when a provider is started again (SIGHUP, the lock file
changed, a run it served was interrupted), the fall-back for a provider without `-debug`,
and converge and an approved held plan giving the same results warm and cold. Real tfhook
servers, real Terraform, the simulated cloud's provider as Terraform would start it.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

import pytest
from support.servers import HANG_GUARD, launch, run_tfhook, tfhook_command, wait_for, write_script
from support.simcloud import ELB_ID, EXECUTABLE, SimCloud, main_tf, provider_dir, write_cli_config
from support.terraform import TfServer, processes_in, updated
from terraform.test_simcloud import ENGINES, engine_path
from terraform.test_terraform_mode import terraform_stuck
from terraform.test_warm_providers import normal, providers_of, wait_gone

COLD = "providers not kept warm in this directory"


def one_provider(server: TfServer) -> int:
    """The server's one warm provider (waiting for the one being started, if need be)."""
    found = wait_for(lambda: providers_of(server), what="a warm provider")
    assert len(found) == 1, found
    return int(found[0])


def test_sighup_starts_the_providers_again(make_simcloud, tf_serve) -> None:
    cloud = make_simcloud(reattach=False)
    server = tf_serve(cloud.dir, env=cloud.env)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    first = one_provider(server)

    server.proc.send_signal(signal.SIGHUP)
    cloud.change("elb", ELB_ID, plan=400)
    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and "plan 100 -> 400" in text, text
    assert one_provider(server) != first
    assert wait_gone([first]) == []
    assert "warm provider exited" not in server.log()  # stopped by tfhook, not found dead


def test_a_changed_lock_file_starts_the_providers_again(make_simcloud, tf_serve) -> None:
    cloud = make_simcloud(reattach=False)
    server = tf_serve(cloud.dir, env=cloud.env)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    first = one_provider(server)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    assert one_provider(server) == first  # nothing changed: the same provider serves

    # What `terraform init` does to a directory whose lock file changes (here it gains one).
    (cloud.dir / ".terraform.lock.hcl").write_text(
        "# This file is maintained automatically by \"terraform init\".\n")
    cloud.change("elb", ELB_ID, plan=400)
    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and "plan 100 -> 400" in text, text
    assert one_provider(server) != first
    assert wait_gone([first]) == []


def test_an_interrupted_run_starts_the_providers_again(make_simcloud, tf_serve, cloud) -> None:
    sim = make_simcloud(reattach=False)
    server = tf_serve(sim.dir, "--kill-after", "2s", env=sim.env)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    first = one_provider(server)
    (sim.dir / "slow.tf").write_text(cloud.tf())  # the next refresh hangs on this read

    call = server.stream("PostHandle", updated())
    terraform_stuck(cloud, sim.dir)
    call.cancel()  # the Core gave up: the run is interrupted (Terraform: StopProvider)
    wait_for(lambda: not [p for p in processes_in(sim.dir) if p != first],
             what="the interrupted run's Terraform stopped")
    cloud.open()
    sim.change("elb", ELB_ID, plan=400)
    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and "plan 100 -> 400" in text, text
    assert one_provider(server) != first
    assert wait_gone([first]) == []


@pytest.mark.slow
def test_a_provider_without_debug_falls_back_with_one_log_line(make_simcloud, tf_serve,
                                                               tmp_path: Path) -> None:
    # A fake: the simulated cloud's provider with -debug taken away, as Go's flag package
    # answers a flag a provider does not define. Everything else runs the real provider.
    real = provider_dir()
    assert real is not None
    plain = tmp_path / "no-debug"
    plain.mkdir()
    write_script(plain / EXECUTABLE, 'if [ "$1" = -debug ]; then\n'
                 '  echo "flag provided but not defined: -debug" >&2\n  exit 2\nfi\n'
                 f'exec "{real / EXECUTABLE}" "$@"\n')
    config = write_cli_config(tmp_path / "no-debug.tfrc", plain)
    sim = make_simcloud(reattach=False)
    env = {**sim.env, "TF_CLI_CONFIG_FILE": str(config)}
    server = tf_serve(sim.dir, env=env)

    for plan in (400, 500):
        sim.change("elb", ELB_ID, plan=plan)
        status, text = server.call("PostHandle", updated())[-1]
        assert status == "DONE" and f"-> {plan}" in text, text

    lines = [line for line in server.log().splitlines() if COLD in line]
    assert len(lines) == 1, server.log()
    assert "flag provided but not defined: -debug" in lines[0], lines[0]
    assert providers_of(server) == []


# -- the same results warm and cold --------------------------------------------------------

VARS = "autoscaler.auto.tfvars.json"


def routes_serve(tmp_path: Path, cloud: SimCloud, engine: str, mode: str, extra: str = ""
                 ) -> TfServer:
    routes = tmp_path / f"routes-{mode}.yaml"
    routes.write_text("routes:\n  - name: elb\n    terraform:\n"
                      f"      dir: {cloud.dir}\n      terraform: {engine_path(engine)}\n"
                      f"      warm_providers: {mode}\n{extra}")
    sock = tmp_path / f"s-{uuid.uuid4().hex[:6]}.sock"
    return launch(TfServer, tfhook_command("serve", "--routes", str(routes), "--addr",
                                           f"unix:{sock}", "--state-dir",
                                           str(tmp_path / f"state-{mode}")),
                  cwd=tmp_path, target=f"unix:{sock}", env=cloud.env, timeout=HANG_GUARD,
                  sock=sock)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_converge_is_the_same_warm_and_cold(engine: str, make_simcloud, tmp_path: Path
                                            ) -> None:
    seen = {}
    for mode in ("auto", "off"):
        cloud = make_simcloud(main_tf(plan="var.elb_plan", elb_ignore=()),  # type: ignore[arg-type]
                              name=f"cloud-{mode}", apply=False, reattach=False)
        (cloud.dir / "variables.tf").write_text(
            'variable "elb_plan" {\n  type    = number\n  default = 100\n}\n')
        cloud.apply()
        server = routes_serve(tmp_path, cloud, engine, mode,
                              f"      converge: {{vars_file: {VARS}}}\n")
        try:
            cloud.change("elb", ELB_ID, plan=400)
            answer = normal(server.call("PostHandle", updated()), cloud)
            warm = len(providers_of(server))
        finally:
            server.close()
        seen[mode] = (answer, warm, json.loads((cloud.dir / VARS).read_text()))

    assert [seen[m][1] for m in ("auto", "off")] == [1, 0]  # the warm path was taken
    assert seen["auto"][0] == seen["off"][0]
    assert seen["auto"][0][1][-1] == (f"converged: var.elb_plan = 400 ({VARS}); the next "
                                      "apply keeps 400"), seen["auto"][0]
    assert seen["auto"][2] == seen["off"][2] == {"elb_plan": 400}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_an_approved_held_plan_is_the_same_warm_and_cold(engine: str, make_simcloud,
                                                         tmp_path: Path) -> None:
    seen = {}
    for mode in ("auto", "off"):
        cloud = make_simcloud(name=f"cloud-{mode}", reattach=False)
        server = routes_serve(tmp_path, cloud, engine, mode,
                              "      unexplained_drift: hold\n      on_failure: warn\n")
        try:
            cloud.change("server", cloud.id_of("simcloud_server.web[0]"), memory=8)
            held = normal(server.call("PostHandle", updated()), cloud)
            approved = run_tfhook(["runs", "approve", "run-1", "--addr", server.target],
                                  tmp_path)
            warm = len(providers_of(server))
        finally:
            server.close()
        assert approved.returncode == 0, approved
        memory = (cloud.attributes("simcloud_server.web[0]") or {}).get("memory")
        seen[mode] = (held, approved.stdout.replace(str(cloud.dir), "DIR"), memory, warm)

    assert [seen[m][3] for m in ("auto", "off")] == [1, 0]  # the warm path was taken
    assert seen["auto"][:3] == seen["off"][:3]
    assert "held as run-N" in "\n".join(seen["auto"][0][1]), seen["auto"][0]
    assert seen["auto"][2] == 8  # the approved plan recorded the cloud's change
