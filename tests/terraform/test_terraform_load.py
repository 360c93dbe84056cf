"""Terraform mode under load and over time (issue 4): coalescing, state locks held by
others, targeted refresh, failure policy, refresh on start and reconciliation."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from support.servers import HANG_GUARD
from support.terraform import (
    Recorder,
    TfServer,
    copy_demo,
    elb_plan,
    init_and_apply,
    read_state,
    simulate,
    tf_env,
    updated,
    wait_for,
)

BROKEN = 'resource "terraform_data" "broken" {\n  input = \n}\n'
BACKEND = 'terraform {\n  backend "local" {\n    path = "elsewhere.tfstate"\n  }\n}\n'


@pytest.fixture
def serve(tf_serve):  # type: ignore[no-untyped-def]
    """Terraform-mode servers (conftest's tf_serve) under the name these tests use."""
    return tf_serve


# -- coalescing ------------------------------------------------------------------------


def test_twenty_concurrent_events_share_two_runs(demo: Path, tmp_path: Path, cloud, serve
                                                 ) -> None:
    # The slow data source holds the first run open until all 20 calls have arrived; the
    # wrapper engine only counts Terraform invocations (it execs the embedded engine).
    (demo / "slow.tf").write_text(cloud.tf())
    recorder = Recorder.create(tmp_path)
    server = serve(demo, engine=str(recorder.path))
    simulate(demo, 400)

    calls = [server.stream("PostHandle", updated(scaling_job_id=f"job-{n}")) for n in range(20)]
    cloud.requests.get(timeout=HANG_GUARD)  # run 1 is reading the cloud
    wait_for(lambda: sum("ACCEPTED" in c.statuses() for c in calls) == 19,
             what="19 calls queued behind the first run")
    cloud.open()
    answers = [call.result() for call in calls]

    assert all(a[-1][0] == "DONE" for a in answers), answers
    assert len(recorder.refreshes()) == 2, recorder.refreshes()
    first = [a for a in answers if a[0][0] != "ACCEPTED"]
    queued = [a for a in answers if a[0][0] == "ACCEPTED"]
    assert len(first) == 1 and len(queued) == 19
    assert "elb_plan: 100 → 400" in first[0][-1][1]
    assert "serving" not in first[0][-1][1]
    assert all("queued behind the current run" in a[0][1] for a in queued)
    assert {a[-1][1] for a in queued} == {queued[0][-1][1]}  # one run served them all
    assert "serving 19 request(s)" in queued[0][-1][1]
    assert not any("lock" in text.lower() for a in answers for _, text in a)
    assert elb_plan(demo) == 400


# -- state lock held by another process --------------------------------------------------


def _hold_lock(tf_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """A real Terraform apply in the directory, stuck reading the slow cloud: it holds the
    state lock until the cloud opens. Returns it and its lock info."""
    holder = subprocess.Popen(
        [sys.executable, "-m", "tfhook.terraform.embedded", "apply", "-refresh-only", "-auto-approve",
         "-input=false", "-no-color"],
        cwd=tf_dir, env=tf_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    info_file = tf_dir / ".terraform.tfstate.lock.info"
    wait_for(info_file.exists, what="the other apply to take the lock")
    info = wait_for(lambda: _json_or_none(info_file), what="lock info")
    return holder, info


def _json_or_none(path: Path) -> dict[str, str] | None:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def test_lock_held_by_another_process_fails_with_aborted(demo: Path, cloud, serve) -> None:
    (demo / "slow.tf").write_text(cloud.tf())
    server = serve(demo, "--lock-timeout", "1s")
    holder, info = _hold_lock(demo)
    try:
        error = server.call_error("PostHandle", updated())
        assert error.code() == grpc.StatusCode.ABORTED
        details = error.details()
        assert "terraform state lock is held by" in details
        # The lock file says 2026-11-22T01:19:00.91Z; Terraform's message 2026-11-22 01:19:00.91
        created = info["Created"].replace("T", " ").removesuffix("Z")
        assert f"held by {info['Who']} since {created}" in details
        assert f"lock ID {info['ID']}" in details
        assert "--lock-timeout 1s" in details
        assert f"tfhook terraform -chdir={demo} force-unlock {info['ID']}" in details
        assert holder.poll() is None  # it failed while the lock was still held
    finally:
        cloud.open()
        assert holder.wait(HANG_GUARD) == 0


def test_lock_held_by_another_process_is_waited_for(demo: Path, cloud, serve) -> None:
    (demo / "slow.tf").write_text(cloud.tf())
    server = serve(demo, "--lock-timeout", "60s")
    holder, _ = _hold_lock(demo)
    try:
        simulate(demo, 400)
        call = server.stream("PostHandle", updated())
        wait_for(lambda: "RUNNING" in call.statuses(), what="the run to start")
        # Our Terraform has started and is waiting; a 1s wait would have failed by now
        # (see the test above), so keep the lock a little longer than that.
        assert not call.finished.wait(2.0), call.messages
        assert holder.poll() is None
    finally:
        cloud.open()
    assert holder.wait(HANG_GUARD) == 0
    answers = call.result()
    assert answers[-1][0] == "DONE", answers
    assert elb_plan(demo) == 400


# -- targeted refresh ------------------------------------------------------------------

NODES = ("resource \"terraform_data\" \"node\" {\n"
         "  for_each = toset([for i in range(10) : \"n${i}\"])\n"
         "  input    = each.key\n}\n\n"
         "output \"nodes\" {\n  value = length(terraform_data.node)\n}\n")


@pytest.fixture(scope="session")
def nodes_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tf_dir = tmp_path_factory.mktemp("nodes-template") / "nodes"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text(NODES)
    init_and_apply(tf_dir)
    return tf_dir


@pytest.fixture
def nodes(nodes_template: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    tf_dir = tmp_path / "nodes"
    shutil.copytree(nodes_template, tf_dir, symlinks=True)
    (resource,) = read_state(tf_dir)["resources"]
    ids = {i["index_key"]: i["attributes"]["id"] for i in resource["instances"]}
    assert len(ids) == 10 and len(set(ids.values())) == 10
    return tf_dir, ids


def test_target_from_event_refreshes_only_that_resource(nodes, serve, tmp_path: Path) -> None:
    tf_dir, ids = nodes
    # A value for an undeclared variable in a file: a warning that must stay in the answer.
    (tmp_path / "extra.tfvars").write_text("extra = 1\n")
    server = serve(tf_dir, "--target-from-event", "--var-file", str(tmp_path / "extra.tfvars"))

    answers = server.call("PostHandle", updated(ids["n3"], kind="server"))

    assert answers[-1][0] == "DONE", answers
    done = answers[-1][1]
    assert 'refreshed 1: terraform_data.node["n3"]\n' in done
    assert 'targeted refresh of terraform_data.node["n3"]' in done
    assert "-target caveat" in done
    # The caveat note replaces Terraform's two targeting warnings; other warnings stay.
    assert [line for line in done.splitlines() if line.startswith("warning:")] == [
        "warning: Value for undeclared variable"], done
    progress = "\n".join(text for status, text in answers[:-1] if status == "RUNNING")
    assert f'terraform_data.node["n3"]: Refresh complete [id={ids["n3"]}]' in progress
    assert set(re.findall(r'node\["(n\d)"\]', progress)) == {"n3"}, progress


def test_target_from_event_without_a_match_refreshes_everything(nodes, serve) -> None:
    tf_dir, _ = nodes
    server = serve(tf_dir, "--target-from-event")

    done = server.call("PostHandle", updated("999999999999", kind="server"))[-1]

    assert done[0] == "DONE"
    assert "no state resource has id 999999999999: full refresh" in done[1]
    assert "refreshed 10: " in done[1]



def test_target_from_event_with_a_configured_backend(tmp_path: Path, serve) -> None:
    # No terraform.tfstate in the directory: the ids are looked up in `terraform state pull`.
    tf_dir = copy_demo(tmp_path / "custom-backend")
    (tf_dir / "backend.tf").write_text(BACKEND)
    init_and_apply(tf_dir)
    assert not (tf_dir / "terraform.tfstate").exists()
    server = serve(tf_dir, "--target-from-event")
    simulate(tf_dir, 400)

    done = server.call("PostHandle", updated())[-1]

    assert done[0] == "DONE", done
    assert "targeted refresh of terraform_data.elb" in done[1]
    assert "refreshed 2: data.terraform_remote_state.cloud, terraform_data.elb" in done[1]
    # Outputs are compared with the state before the run, not reported as all new.
    assert "outputs changed 1: elb_plan: 100 → 400" in done[1], done[1]


# -- failure policy --------------------------------------------------------------------


@pytest.mark.slow
def test_on_failure_warn_answers_done_and_retries_in_background(demo: Path, serve) -> None:
    server = serve(demo, "--on-failure", "warn")
    (demo / "broken.tf").write_text(BROKEN)

    answers = server.call("PostHandle", updated())

    assert answers[-1][0] == "DONE", answers
    done = answers[-1][1]
    assert "terraform refresh FAILED" in done and "retrying in background" in done
    assert "Invalid expression (broken.tf:2)" in done
    # The log says so too, with Terraform's diagnostic (summary, file:line, detail), ...
    warned = _log_line(server, "terraform refresh failed; the call answers DONE "
                               "(on_failure warn)")
    assert warned is not None and "level=warn " in warned, server.log()
    assert "Error: Invalid expression (broken.tf:2)\\n  Expected the start of an " in warned
    # The first retry (about 2 s later) still fails and doubles the delay ...
    failed = wait_for(lambda: _log_line(server, "background refresh retry failed"),
                      what="the first background retry")
    assert "next_in=2-4s" in failed  # the next one 2 to 4 s later (jitter)
    # ... and logs its whole error, not just the first line.
    retried = next((line for line in server.log().splitlines()
                    if 'event="run failed"' in line and "triggers=retry" in line), None)
    assert retried is not None and "Invalid expression (broken.tf:2)" in retried, server.log()
    # ... then the directory is fixed and the cloud changed: the next retry picks it up.
    simulate(demo, 400)
    (demo / "broken.tf").unlink()
    succeeded = wait_for(lambda: _log_line(server, "background refresh retry succeeded"),
                         what="the second background retry")
    assert elb_plan(demo) == 400
    [recovered] = [line for line in server.log().splitlines()
                   if "event=\"run done\"" in line and "triggers=retry" in line]
    assert 'outputs_changed="elb_plan: 100 → 400"' in recovered, recovered
    # In this order: the call answered, a retry failed, one succeeded.
    lines = server.log().splitlines()
    order = [lines.index(line) for line in (_log_line(server, "call finished"), failed, succeeded)]
    assert order == sorted(order), order


def _log_line(server: TfServer, event: str) -> str | None:
    return next((line for line in server.log().splitlines() if f'event="{event}"' in line
                 or f"event={event} " in line), None)


def test_on_failure_fail_is_the_default(demo: Path, serve) -> None:
    server = serve(demo)
    (demo / "broken.tf").write_text(BROKEN)
    error = server.call_error("PostHandle", updated())
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert "Invalid expression (broken.tf:2)" in error.details()
    assert "background" not in server.log()


# -- refreshes without an event --------------------------------------------------------


def test_refresh_on_start(demo: Path, serve) -> None:
    simulate(demo, 400)
    server = serve(demo, "--refresh-on-start")
    wait_for(lambda: elb_plan(demo) == 400, what="the start-up refresh")
    done = wait_for(lambda: _log_line(server, "run done"),
                    what="the start-up refresh in the log")
    assert "level=info" in done and "triggers=start" in done and "events=0" in done
    assert "refreshed=2" in done  # data.terraform_remote_state.cloud, terraform_data.elb
    assert 'outputs_changed="elb_plan: 100 → 400"' in done
    assert "background run done" not in server.log()  # one line for a run's end


def test_no_refresh_on_start_by_default(demo: Path, serve) -> None:
    simulate(demo, 400)
    server = serve(demo)
    done = server.call("PostHandle", updated())[-1]  # the first refresh is this one
    assert "elb_plan: 100 → 400" in done[1]


def test_reconcile_every_refreshes_without_events(demo: Path, serve) -> None:
    server = serve(demo, "--reconcile-every", "2s")
    simulate(demo, 400)
    wait_for(lambda: elb_plan(demo) == 400, what="a reconcile refresh")
    assert "reconcile: no event for a while" in server.log()
    done = wait_for(lambda: _log_line(server, "run done"),
                    what="the reconcile refresh in the log")
    assert 'triggers=reconcile' in done and "elb_plan: 100 → 400" in done
