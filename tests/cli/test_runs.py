"""`tfhook runs held|approve|deny` end to end (#21): a real server on the simulated cloud holds
a plan (unexplained drift, `--unexplained-drift hold`), and the CLI, in a process of its own,
decides it through the admin service on the server's unix socket. Terraform, the state, the
history and the metrics are real."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from support.servers import HANG_GUARD, free_port, run_tfhook
from support.simcloud import ELB_ID, SimCloud
from support.terraform import updated

from tfhook.ops import admin as client


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=HANG_GUARD) as answer:
        return str(answer.read().decode())


@pytest.mark.slow
def test_approve_applies_the_held_run_and_refuses_what_is_not_held(
        simcloud: SimCloud, tf_serve, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "handler.yaml").write_text(
        f"exporter_config:\n  enabled: true\n  address: 127.0.0.1:{port}\n")
    server = tf_serve(simcloud.dir, "--unexplained-drift", "hold", "--on-failure", "warn",
                      "--state-dir", "state", "--config", "handler.yaml", env=simcloud.env)
    addr = server.target
    before = simcloud.state_bytes()
    simcloud.change("server", simcloud.id_of("simcloud_server.web[0]"), memory=8)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and "held as run-1" in text, text
    assert simcloud.state_bytes() == before
    assert "tfhook_held_runs 1.0" in _metrics(port)
    listed = run_tfhook(["runs", "held", "--addr", addr, "--json"], tmp_path)
    assert listed.returncode == 0, listed
    (held,) = json.loads(listed.stdout)
    assert (held["run"], held["route"], held["directory"]) == (1, "terraform", str(simcloud.dir))
    assert held["changes"] and "simcloud_server.web[0]" in " ".join(held["changes"]), held
    table = run_tfhook(["runs", "held", "--addr", addr], tmp_path).stdout.splitlines()
    assert table[0].split() == ["RUN", "ROUTE", "DIRECTORY", "REASON", "HELD", "FOR", "CHANGES"]
    assert table[1].startswith("run-1  terraform  "), table

    tcp = run_tfhook(["runs", "approve", "run-1", "--addr", "127.0.0.1:50051"], tmp_path)
    assert tcp.returncode == 2 and "--admin-addr unix:PATH" in tcp.stderr, tcp
    approved = run_tfhook(["runs", "approve", "run-1", "--addr", addr], tmp_path)
    assert approved.returncode == 0, approved
    assert simcloud.attributes("simcloud_server.web[0]")["memory"] == 8
    again = run_tfhook(["runs", "approve", "run-1", "--addr", addr], tmp_path)
    assert again.returncode == 1, again
    # Decided already and never held read differently.
    assert again.stderr.startswith("tfhook: refused: run-1 was approved already"), again
    unknown = run_tfhook(["runs", "deny", "run-99", "--addr", addr], tmp_path)
    assert unknown.returncode == 1, unknown
    assert unknown.stderr.startswith("tfhook: refused: run-99 is not held by this server: no "
                                     "held run has that id here"), unknown
    assert client.held(addr, HANG_GUARD) == []

    rows = json.loads(run_tfhook(["history", "decisions", "--json", "--state-dir", "state"],
                                 tmp_path).stdout)
    user = client.user()
    assert [(r["action"], r["run_id"], r["user"], r["outcome"]) for r in rows] == [
        ("deny", 99, user, "refused"), ("approve", 1, user, "refused"),
        ("approve", 1, user, "done")]
    assert rows[2]["directory"] == str(simcloud.dir) and rows[2]["route"] == "terraform"
    shown = run_tfhook(["history", "show", "run-1", "--state-dir", "state"], tmp_path).stdout
    assert f"approve by {user}: done" in shown, shown
    metrics = _metrics(port)
    assert 'tfhook_decisions_total{action="approve",outcome="done"} 1.0' in metrics
    assert 'tfhook_decisions_total{action="approve",outcome="refused"} 1.0' in metrics
    assert 'tfhook_decisions_total{action="deny",outcome="refused"} 1.0' in metrics
    assert "tfhook_held_runs 0.0" in metrics


def test_deny_discards_the_held_run_and_a_rollback_goes_through_the_server(
        simcloud: SimCloud, tf_serve, tmp_path: Path) -> None:
    server = tf_serve(simcloud.dir, "--unexplained-drift", "hold", "--on-failure", "warn",
                      "--state-dir", "state", env=simcloud.env)
    addr, web0 = server.target, simcloud.id_of("simcloud_server.web[0]")
    simcloud.change("server", web0, memory=8)
    assert "held as run-1" in server.call("PostHandle", updated())[-1][1]
    denied = run_tfhook(["runs", "deny", "run-1", "--addr", addr], tmp_path)
    assert denied.returncode == 0, denied
    assert client.held(addr, HANG_GUARD) == []
    assert simcloud.attributes("simcloud_server.web[0]")["memory"] == 2

    # An event that explains the drift applies it (run-2), saving the state it replaced.
    status, text = server.call("PostHandle", updated(web0, "server"))[-1]
    assert status == "DONE", text
    assert simcloud.attributes("simcloud_server.web[0]")["memory"] == 8
    shown = client.rollback(addr, str(simcloud.dir), 2, False, HANG_GUARD)
    assert "memory" in shown and simcloud.attributes("simcloud_server.web[0]")["memory"] == 8
    client.rollback(addr, str(simcloud.dir), 2, True, HANG_GUARD)
    assert simcloud.attributes("simcloud_server.web[0]")["memory"] == 2
    rows = json.loads(run_tfhook(["history", "decisions", "--json", "--state-dir", "state"],
                                 tmp_path).stdout)
    assert [(r["action"], r["run_id"], r["outcome"]) for r in rows] == [
        ("rollback", 2, "done"), ("deny", 1, "done")]


def test_a_stale_plan_held_again_keeps_the_events_explanations(
        simcloud: SimCloud, tf_serve, tmp_path: Path) -> None:
    server = tf_serve(simcloud.dir, "--unexplained-drift", "hold", "--on-failure", "warn",
                      "--state-dir", "state", env=simcloud.env)
    addr = server.target
    web0, web1 = (simcloud.id_of(f"simcloud_server.web[{n}]") for n in (0, 1))
    simcloud.change("elb", ELB_ID, plan=400)  # the event's job did this
    simcloud.change("server", web0, memory=8)  # no event explains this
    assert "held as run-1" in server.call("PostHandle", updated(scaling_job_id="elb-front"))[-1][1]
    # The state moves (web[1] refreshed by hand) and web[1] drifts again: a stale plan that
    # now changes more, held again as run-2.
    simcloud.change("server", web1, memory=4)
    simcloud.terraform("apply", "-refresh-only", "-auto-approve", "-input=false",
                       "-target=simcloud_server.web[1]")
    simcloud.change("server", web1, memory=8)

    approved = run_tfhook(["runs", "approve", "run-1", "--addr", addr], tmp_path)

    assert approved.returncode == 1 and "held as run-2" in approved.stderr, approved
    (held,) = client.held(addr, HANG_GUARD)
    assert held.changes == (
        "simcloud_elb.main (plan 100 -> 400, explained by job elb-front)",
        "simcloud_server.web[0] (memory 2 -> 8, not explained by any event)",
        "simcloud_server.web[1] (memory 4 -> 8, not explained by any event)"), held
