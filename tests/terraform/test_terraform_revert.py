"""The revert warning (#12): after a refresh that changed something, a plan that refreshes
nothing says what the configuration would change back on the next apply. Real servers and
embedded Terraform on the simulated cloud (tests/support/simcloud.py: only the cloud API is
simulated)."""

from __future__ import annotations

from support.simcloud import ELB_ID, SimCloud, main_tf
from support.terraform import updated

from tfhook.core.model import Action, Status, Update
from tfhook.observe.metrics import METRICS, MetricsSink

HINT = "on the next apply; add it to lifecycle.ignore_changes or change the configuration"


def test_a_pinned_value_the_autoscaler_changed_is_named(make_simcloud, tf_serve) -> None:
    cloud = make_simcloud(main_tf=main_tf(elb_ignore=()))  # the configuration pins plan 100
    server = tf_serve(cloud.dir, env=cloud.env)
    cloud.change("elb", ELB_ID, plan=400)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE", text
    assert "drifted 1: simcloud_elb.main (plan 100 -> 400, explained by job job-1)" in text
    line = f"simcloud_elb.main: plan 400 -> 100 {HINT}"
    assert f"warning: {line}" in text.splitlines()
    assert line in server.log()
    assert cloud.attributes("simcloud_elb.main")["plan"] == 400  # type: ignore[index]


def test_ignore_changes_on_it_means_no_warning(simcloud: SimCloud, tf_serve) -> None:
    server = tf_serve(simcloud.dir, env=simcloud.env)  # the default module ignores plan
    simcloud.change("elb", ELB_ID, plan=400)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and \
        "drifted 1: simcloud_elb.main (plan 100 -> 400, explained by job job-1)" in text
    assert "next apply" not in text and "next apply" not in server.log()


def test_no_check_revert_turns_it_off(make_simcloud, tf_serve) -> None:
    cloud = make_simcloud(main_tf=main_tf(elb_ignore=()))
    server = tf_serve(cloud.dir, "--no-check-revert", env=cloud.env)
    cloud.change("elb", ELB_ID, plan=400)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and \
        "drifted 1: simcloud_elb.main (plan 100 -> 400, explained by job job-1)" in text
    assert "next apply" not in text and "next apply" not in server.log()


def test_the_metric_counts_each_change() -> None:
    assert METRICS["tfhook_revert_warnings_total"] == ("counter", ("route",))
    sink = MetricsSink()
    action = Action("a test", hook="elb")
    sink.route_update(action, Update(Status.RUNNING, "..."))
    sink.route_update(action, Update(Status.DONE, "...", reverts=2))
    value = sink.registry.get_sample_value("tfhook_revert_warnings_total", {"route": "elb"})
    assert value == 2.0
