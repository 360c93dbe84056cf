"""The revert warning (#12): after a refresh, a plan that refreshes nothing says what the
configuration would change back on the next apply. Real servers, real embedded Terraform.

Built-in resources never drift, so these tests make the state hold a value the
configuration no longer says (as a refresh of an autoscaled resource would): applied with
plan 400, then the configuration pins plan 100.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from terraform_helpers import init_and_apply, updated, write_module

from tfhook.metrics import METRICS, MetricsSink
from tfhook.model import Action, Status, Update

ELB = ('resource "terraform_data" "elb" {{\n  input = {{ name = "demo-elb", plan = {plan} }}\n'
       '{lifecycle}}}\n')
IGNORED = "  lifecycle {\n    ignore_changes = [input]\n  }\n"
HINT = "on the next apply; add it to lifecycle.ignore_changes or change the configuration"


@pytest.fixture
def serve(tf_serve):  # type: ignore[no-untyped-def]
    return tf_serve


def _pinned(where: Path, lifecycle: str = "") -> Path:
    """A state with plan 400 (what the autoscaler set) and a configuration pinning 100."""
    tf_dir = write_module(where, {"main.tf": ELB.format(plan=400, lifecycle="")})
    init_and_apply(tf_dir)
    (tf_dir / "main.tf").write_text(ELB.format(plan=100, lifecycle=lifecycle))
    return tf_dir


def test_a_pinned_value_is_named_in_the_done_and_the_log(tmp_path: Path, serve) -> None:
    tf_dir = _pinned(tmp_path / "pinned")
    state = (tf_dir / "terraform.tfstate").read_bytes()
    server = serve(tf_dir)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE"
    line = f"terraform_data.elb: input.plan 400 -> 100 {HINT}"
    assert f"warning: {line}" in text.splitlines()
    assert "the next terraform apply would change back what was refreshed" in server.log()
    assert line in server.log()
    # The check refreshes and changes nothing: the state is what the refresh left.
    assert (tf_dir / "terraform.tfstate").read_bytes() == state


def test_ignore_changes_silences_it(tmp_path: Path, serve) -> None:
    tf_dir = _pinned(tmp_path / "ignored", lifecycle=IGNORED)
    server = serve(tf_dir)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and text.startswith("terraform refresh done in ")
    assert "warning" not in text and "next apply" not in server.log()


def test_no_check_revert_turns_it_off(tmp_path: Path, serve) -> None:
    tf_dir = _pinned(tmp_path / "off")
    server = serve(tf_dir, "--no-check-revert")

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and "next apply" not in text
    assert "checking whether the next apply" not in text


def test_the_metric_counts_each_change() -> None:
    assert METRICS["tfhook_revert_warnings_total"] == ("counter", ("route",))
    sink = MetricsSink()
    action = Action(event=None, hook="elb")  # type: ignore[arg-type]
    sink.update(action, Update(Status.RUNNING, "..."))
    sink.update(action, Update(Status.DONE, "...", reverts=2))
    value = sink.registry.get_sample_value("tfhook_revert_warnings_total", {"route": "elb"})
    assert value == 2.0
