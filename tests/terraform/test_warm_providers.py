"""Warm providers (#25): started once per directory with -debug, reattached to by every
command, restarted when they die, gone with tfhook. Real Terraform, the simulated cloud's
provider started as Terraform would start it (dev_overrides), real tfhook servers.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from support.servers import HANG_GUARD, alive, launch, tfhook_command
from support.simcloud import ELB_ID, EXECUTABLE, SimCloud, main_tf
from support.terraform import TfServer, updated
from terraform.test_simcloud import ENGINES, engine_path


def providers_of(server: TfServer) -> list[int]:
    """The warm providers the server runs: its children running `... -debug`."""
    found = []
    for pid in server.children():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(EXECUTABLE.encode()) for arg in argv) and b"-debug" in argv:
            found.append(pid)
    return found


def cwd_of(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/cwd")


def wait_gone(pids: list[int]) -> list[int]:
    until = time.monotonic() + HANG_GUARD  # a hang guard, not a measure
    while time.monotonic() < until and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def normal(answers: list[tuple[str, str]], cloud: SimCloud) -> tuple[str, list[str]]:
    """The final answer without what differs from run to run: durations, the directory, the
    socket, the order Terraform refreshed in (progress messages come as time allows)."""
    status, text = answers[-1]
    text = text.replace(str(cloud.dir), "DIR")
    text = re.sub(r"unix:\S+", "unix:SOCK", text)
    text = re.sub(r"\b1133000001\d\d\b", "SERVER-ID", text)  # in the order they were made
    text = re.sub(r"\brun-\d+\b", "run-N", text)  # both servers share one history
    text = re.sub(r"\b\d+(\.\d+)?(ms|s)\b", "Ns", text)
    lines = [re.sub(r"^(refreshed \d+: )(.*)$", lambda m: m[1] + ", ".join(sorted(
        m[2].split(", "))), line) for line in text.splitlines()]
    return status, lines


def drift_then_refused_removal(cloud: SimCloud, server: TfServer
                               ) -> list[tuple[str, list[str]]]:
    """An explained drift on a pinned value (a revert warning), then a removal no event
    names (refused, its plan held), then an approval of that plan."""
    cloud.change("elb", ELB_ID, plan=400)
    first = server.call("PostHandle", updated())
    cloud.delete("server", cloud.id_of("simcloud_server.web[1]"))
    second = server.call("PostHandle", updated(scaling_job_id="job-2"))
    return [normal(first, cloud), normal(second, cloud)]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_results_are_the_same_with_warm_providers_on_and_off(engine: str, make_simcloud,
                                                             tf_serve) -> None:
    results, states, warm = {}, {}, {}
    for mode in ("auto", "off"):
        cloud = make_simcloud(main_tf(elb_ignore=()), name=f"cloud-{mode}", reattach=False)
        server = tf_serve(cloud.dir, "--warm-providers", mode, "--on-failure", "warn",
                          engine=engine_path(engine), env=cloud.env)
        results[mode] = drift_then_refused_removal(cloud, server)
        warm[mode] = [cwd_of(pid) for pid in providers_of(server)]
        elb = cloud.attributes("simcloud_elb.main") or {}
        states[mode] = (elb.get("plan"), len(elb.get("servers", ())),
                        cloud.attributes("simcloud_server.web[1]") is not None)

    assert warm["off"] == [] and len(warm["auto"]) == 1, warm  # the warm path was taken
    assert warm["auto"][0].endswith("cloud-auto")
    assert results["auto"] == results["off"]
    first, second = results["auto"]
    assert first[0] == "DONE" and any("plan 400 -> 100 on the next apply" in line
                                      for line in first[1]), first
    assert any("The plan is held as run-N" in line for line in second[1]), second
    assert states["auto"] == states["off"]
    assert states["auto"] == (400, 2, True)  # the removal was refused: web[1] stays


def test_a_killed_provider_is_started_again(make_simcloud, tf_serve) -> None:
    cloud = make_simcloud(reattach=False)
    server = tf_serve(cloud.dir, env=cloud.env)
    cloud.change("elb", ELB_ID, plan=400)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    [first] = providers_of(server)

    os.kill(first, signal.SIGKILL)
    assert wait_gone([first]) == []
    cloud.change("elb", ELB_ID, plan=500)
    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE", text
    assert "plan 400 -> 500" in text, text
    [second] = providers_of(server)
    assert second != first
    assert "warm provider exited" in server.log()


def test_sigkill_of_tfhook_leaves_no_provider_running(make_simcloud, tf_serve) -> None:
    cloud = make_simcloud(reattach=False)
    server = tf_serve(cloud.dir, env=cloud.env)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    running = providers_of(server)
    assert len(running) == 1

    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(HANG_GUARD)

    assert wait_gone(running) == []


def test_two_directories_with_one_provider_get_one_each(make_simcloud, tmp_path: Path
                                                        ) -> None:
    one, two = (make_simcloud(name=name, reattach=False) for name in ("one", "two"))
    (tmp_path / "routes.yaml").write_text(
        "routes:\n"
        f"  - {{name: one, match: {{resource_name: one}}, terraform: {{dir: {one.dir}}}}}\n"
        f"  - {{name: two, match: {{resource_name: two}}, terraform: {{dir: {two.dir}}}}}\n")
    sock = tmp_path / "routes.sock"
    server = launch(TfServer, tfhook_command("serve", "--routes", str(tmp_path / "routes.yaml"),
                                             "--addr", f"unix:{sock}"),
                    cwd=tmp_path, target=f"unix:{sock}", env=one.env, timeout=HANG_GUARD,
                    sock=sock)
    for cloud, name in ((one, "one"), (two, "two")):
        cloud.change("elb", ELB_ID, plan=400)
        status, text = server.call("PostHandle", updated(resource_name=name))[-1]
        assert status == "DONE" and "plan 100 -> 400" in text, text

    assert sorted(cwd_of(pid) for pid in providers_of(server)) == [str(one.dir), str(two.dir)]
    assert one.attributes("simcloud_elb.main")["plan"] == 400  # type: ignore[index]
    assert two.attributes("simcloud_elb.main")["plan"] == 400  # type: ignore[index]
    server.close()


def test_a_warning_of_several_commands_is_in_the_done_once(make_simcloud, tf_serve) -> None:
    # Started from dev_overrides, the provider makes plan and apply each warn the same.
    cloud = make_simcloud(name="cloud-cold", reattach=False)
    server = tf_serve(cloud.dir, "--warm-providers", "off", env=cloud.env)
    cloud.change("elb", ELB_ID, plan=400)  # an apply follows the plan
    status, text = server.call("PostHandle", updated())[-1]
    assert status == "DONE", text
    assert text.splitlines().count("warning: Provider development overrides are in effect") == 1, text
