"""Terraform mode end to end (issue 3): real `tfhook serve --terraform embedded` servers
refreshing real Terraform directories."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import pytest
from support.servers import HANG_GUARD
from support.terraform import (
    ELB_ID,
    SlowCloud,
    copy_demo,
    elb_plan,
    init_and_apply,
    processes_in,
    read_state,
    simulate,
    updated,
    wait_for,
    write_module,
)


@pytest.fixture
def serve(tf_serve):  # type: ignore[no-untyped-def]
    """Terraform-mode servers (conftest's tf_serve) under the name these tests use."""
    return tf_serve


def test_updated_refreshes_the_state(demo: Path, serve) -> None:
    server = serve(demo)
    simulate(demo, 400)

    answers = server.call("PostHandle", updated())

    statuses = [status for status, _ in answers]
    assert statuses[-1] == "DONE" and set(statuses[:-1]) == {"RUNNING"}, answers
    progress = "\n".join(text for status, text in answers if status == "RUNNING")
    assert "terraform_data.elb: Refresh complete [id=113300000001]" in progress
    done = answers[-1][1]
    assert "elb_plan: 100 → 400" in done
    assert "refreshed 2: data.terraform_remote_state.cloud, terraform_data.elb" in done
    assert elb_plan(demo) == 400


NOT_CHANGED = "result {} is not one of created, updated, deleted)"
IGNORED = [
    ("PostHandle", {"result": "NO_CHANGE"},
     "PostHandle: no route matches (terraform: " + NOT_CHANGED.format("no-change")),
    ("PostHandle", {"result": "UNKNOWN"},
     "PostHandle: no route matches (terraform: " + NOT_CHANGED.format("unknown")),
    ("Handle", {"instruction": "UPDATE"},
     "Handle: no route matches (terraform: phase handle is not post-handle)"),
    ("PreHandle", {"instruction": "UPDATE"},
     "PreHandle: no route matches (terraform: phase pre-handle is not post-handle)"),
]


def test_other_calls_are_ignored_without_a_run(demo: Path, serve) -> None:
    server = serve(demo)
    simulate(demo, 400)
    before = (demo / "terraform.tfstate").stat()

    for rpc, fields, reason in IGNORED:
        resource = "current" if rpc == "PostHandle" else "desired"
        answers = server.call(rpc, {"scaling_job_id": "job-1",
                                    resource: {"elb": {"id": ELB_ID, "plan": 400}}, **fields})

        assert len(answers) == 1 and answers[0][0] == "IGNORED", (rpc, fields, answers)
        assert answers[0][1] == reason, answers
        after = (demo / "terraform.tfstate").stat()
        assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
        assert elb_plan(demo) == 100
    # Nothing ran in the background either: the next real refresh is the one that sees 400.
    done = server.call("PostHandle", updated())[-1]
    assert done[0] == "DONE" and "elb_plan: 100 → 400" in done[1]
    assert "serving" not in done[1]


def test_on_result_chooses_the_triggers(demo: Path, serve) -> None:
    server = serve(demo, "--on-result", "no-change", "--on-result", "created")
    simulate(demo, 400)

    ignored = server.call("PostHandle", updated())
    assert ignored == [("IGNORED", "PostHandle: no route matches (terraform: result updated "
                        "is not one of created, no-change)")]
    assert elb_plan(demo) == 100

    done = server.call("PostHandle", updated(result="NO_CHANGE"))
    assert done[-1][0] == "DONE" and "elb_plan: 100 → 400" in done[-1][1]
    simulate(demo, 1000)
    done = server.call("PostHandle", updated(result="CREATED"))
    assert done[-1][0] == "DONE" and "elb_plan: 400 → 1000" in done[-1][1]
    assert elb_plan(demo) == 1000


def test_outputs_are_compared_with_a_configured_backends_state(tmp_path: Path, serve) -> None:
    # With a backend block there is no terraform.tfstate beside the .tf files; the summary
    # must still compare with the state before the run, not call every output new.
    tf_dir = copy_demo(tmp_path / "custom-backend")
    (tf_dir / "backend.tf").write_text(
        'terraform {\n  backend "local" {\n    path = "elsewhere.tfstate"\n  }\n}\n')
    init_and_apply(tf_dir)
    server = serve(tf_dir)
    simulate(tf_dir, 400)

    done = server.call("PostHandle", updated())[-1]

    assert done[0] == "DONE" and "outputs changed 1: elb_plan: 100 → 400" in done[1], done[1]
    state = read_state(tf_dir, "elsewhere.tfstate")
    assert state["outputs"]["elb_plan"]["value"] == 400


# -- a hung run ------------------------------------------------------------------------


def terraform_stuck(cloud: SlowCloud, tf_dir: Path) -> list[int]:
    """Wait until Terraform is stuck reading the slow cloud; its processes in tf_dir."""
    cloud.requests.get(timeout=HANG_GUARD)
    stuck: list[int] = wait_for(lambda: list(processes_in(tf_dir)), what="Terraform in the directory")
    return stuck


@pytest.mark.slow
def test_hung_refresh_times_out_and_leaves_no_process(tmp_path: Path, serve, cloud) -> None:
    tf_dir = write_module(tmp_path / "slow", {"main.tf": cloud.tf()})
    # Long enough for Terraform to reach the slow cloud on a busy machine before it runs out.
    server = serve(tf_dir, "--timeout", "10s", "--kill-after", "2s")
    call = server.stream("PostHandle", updated())

    stuck = terraform_stuck(cloud, tf_dir)
    assert set(stuck) & set(server.children()), (stuck, server.children())

    with pytest.raises(grpc.RpcError) as caught:
        call.result(timeout=HANG_GUARD)  # a bound against a hang; the server's own timeout answers
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "timed out after 10s" in caught.value.details()
    wait_for(lambda: not list(processes_in(tf_dir)),
             what="no Terraform process left in the directory")
    assert server.children() == [], server.children()
    assert server.proc.poll() is None  # the server itself lives on


def test_a_call_that_goes_away_stops_its_run(tmp_path: Path, serve, cloud) -> None:
    tf_dir = write_module(tmp_path / "slow", {"main.tf": cloud.tf()})
    server = serve(tf_dir, "--kill-after", "1s")
    call = server.stream("PostHandle", updated())
    terraform_stuck(cloud, tf_dir)

    call.cancel()  # the Core gave up on this call: nobody waits for the run any more

    wait_for(lambda: not list(processes_in(tf_dir)),
             what="the abandoned run to be stopped")
    # A child that exited is listed until the server has reaped it (a moment under load).
    wait_for(lambda: server.children() == [], what="the stopped run reaped")
    cloud.open()  # the next call runs normally: no lock was left behind
    assert server.call("PostHandle", updated())[-1][0] == "DONE"


def test_sigterm_during_a_run_stops_terraform(tmp_path: Path, serve, cloud) -> None:
    tf_dir = write_module(tmp_path / "slow", {"main.tf": cloud.tf()})
    server = serve(tf_dir, "--grace", "1s", "--kill-after", "1s")
    call = server.stream("PostHandle", updated())
    terraform_stuck(cloud, tf_dir)

    server.proc.send_signal(signal.SIGTERM)

    assert server.proc.wait(HANG_GUARD) == 0, server.log()
    assert call.finished.wait(HANG_GUARD) and call.error is not None
    assert not list(processes_in(tf_dir))
