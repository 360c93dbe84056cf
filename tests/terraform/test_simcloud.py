"""The simulated cloud: real drift, deletion and a pinned value, with real Terraform and tfhook.

Only the cloud API is simulated (examples/simcloud/); Terraform, the state and tfhook are real.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from support.simcloud import ELB_ID, SERVER_IDS, SimCloud, main_tf
from support.terraform import updated

# The embedded engine always; the terraform on PATH too when this machine has one.
ENGINES = ["embedded", pytest.param("path", marks=pytest.mark.skipif(
    shutil.which("terraform") is None, reason="no terraform on PATH"))]


def engine_path(engine: str) -> str:
    return "embedded" if engine == "embedded" else str(shutil.which("terraform"))


def changes(messages: list[dict[str, Any]], kind: str) -> dict[str, str]:
    """address -> action of every `kind` message (resource_drift, planned_change)."""
    return {m["change"]["resource"]["addr"]: m["change"]["action"]
            for m in messages if m["type"] == kind}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("reattach", [True, False], ids=["reattached", "dev_overrides"])
def test_the_cloud_drifts_under_terraform(engine: str, reattach: bool, simcloud_template: Path,
                                          simcloud_cli: Path, tmp_path: Path) -> None:
    shutil.copytree(simcloud_template, tmp_path / "cloud")
    simcloud = SimCloud.at(tmp_path / "cloud", simcloud_cli, reattach=reattach)
    try:
        messages = drift_and_plan(simcloud, engine)
    finally:
        simcloud.close()
    warnings = [m["diagnostic"]["summary"] for m in messages if m["type"] == "diagnostic"]
    # Terraform warns when it starts a provider from dev_overrides; reattached it does not
    assert warnings == ([] if reattach else ["Provider development overrides are in effect"])


def drift_and_plan(simcloud: SimCloud, engine: str) -> list[dict[str, Any]]:
    simcloud.change("elb", ELB_ID, plan=400)
    simcloud.change("server", simcloud.id_of("simcloud_server.web[0]"), core=4)
    simcloud.delete("server", simcloud.id_of("simcloud_server.web[1]"))

    messages = simcloud.plan_json("-refresh-only", engine=engine_path(engine))

    assert changes(messages, "resource_drift") == {
        "simcloud_elb.main": "update", "simcloud_server.web[0]": "update",
        "simcloud_server.web[1]": "delete"}
    assert changes(messages, "planned_change") == {}
    assert not [m for m in messages if m.get("@level") == "error"]
    return messages


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pinned_value_is_a_planned_change(engine: str, make_simcloud) -> None:
    pinned = make_simcloud(main_tf(elb_ignore=()), name="pinned")
    ignored = make_simcloud(main_tf(), name="ignored")
    for cloud in (pinned, ignored):
        cloud.change("elb", ELB_ID, plan=400)

    assert changes(pinned.plan_json(engine=engine_path(engine)), "planned_change") == {
        "simcloud_elb.main": "update"}
    assert changes(ignored.plan_json(engine=engine_path(engine)), "planned_change") == {}
    text = pinned.terraform("plan", "-no-color", "-input=false", engine=engine_path(engine))
    assert "~ plan    = 400 -> 100" in text.stdout


def test_tfhook_refreshes_a_drifted_elb(simcloud: SimCloud, tf_serve) -> None:
    server = tf_serve(simcloud.dir, env=simcloud.env)
    simcloud.change("elb", ELB_ID, plan=400)

    answers = server.call("PostHandle", updated())

    assert [status for status, _ in answers][-1] == "DONE"
    done = answers[-1][1]
    assert "drifted 1: simcloud_elb.main (plan 100 -> 400, explained by job job-1)" in done, done
    assert simcloud.attributes("simcloud_elb.main")["plan"] == 400  # type: ignore[index]
    assert simcloud.get("elb", ELB_ID)["plan"] == 400  # type: ignore[index]


def test_tfhook_removes_what_the_cloud_deleted(simcloud: SimCloud, tf_serve) -> None:
    server = tf_serve(simcloud.dir, env=simcloud.env)
    kept, lost = (simcloud.id_of(f"simcloud_server.web[{n}]") for n in (0, 1))
    simcloud.delete("server", lost)
    event = updated(lost, kind="server", result="DELETED")

    answers = server.call("PostHandle", event)

    done = answers[-1][1]
    assert answers[-1][0] == "DONE", answers
    assert "simcloud_server.web[1] (gone from the cloud, explained by job job-1)" in done, done
    assert simcloud.attributes("simcloud_server.web[1]") is None
    assert simcloud.id_of("simcloud_server.web[0]") == kept


def test_after_a_refresh_the_pinned_plan_would_be_reverted(make_simcloud, tf_serve) -> None:
    pinned = make_simcloud(main_tf(elb_ignore=()))
    server = tf_serve(pinned.dir, env=pinned.env)
    pinned.change("elb", ELB_ID, plan=400)

    answers = server.call("PostHandle", updated())

    assert "simcloud_elb.main (plan 100 -> 400, explained by job job-1)" in answers[-1][1], answers
    assert pinned.attributes("simcloud_elb.main")["plan"] == 400  # type: ignore[index]
    text = pinned.terraform("plan", "-no-color", "-input=false").stdout
    assert "~ plan    = 400 -> 100" in text  # the next apply undoes the autoscaler
    assert "1 to change" in text


def test_the_cloud_file_is_the_providers_truth(simcloud: SimCloud) -> None:
    """Create, update and destroy go to the JSON file, as they would to a cloud API."""
    web = [simcloud.id_of(f"simcloud_server.web[{n}]") for n in (0, 1)]
    assert sorted(web) == list(SERVER_IDS)
    assert simcloud.get("elb", ELB_ID) == {
        "name": "demo-elb", "plan": 100, "servers": web, "vip": "192.0.2.2"}
    assert simcloud.get("server", web[1]) == {"name": "web1", "core": 1, "memory": 2}
    (simcloud.dir / "main.tf").write_text(main_tf(plan=500, elb_ignore=(), servers=1))
    simcloud.apply()
    assert simcloud.get("elb", ELB_ID) == {
        "name": "demo-elb", "plan": 500, "servers": web[:1], "vip": "192.0.2.2"}
    assert simcloud.get("server", web[1]) is None
    simcloud.terraform("destroy", "-auto-approve", "-input=false", "-no-color")
    assert simcloud.get("elb", ELB_ID) is None
    assert simcloud.get("server", web[0]) is None
