"""The guarded refresh (#12) on the simulated cloud: a refresh that would drop objects from
the state is refused unless DELETED events name them or max_state_removals allows it; what
Terraform cannot read is shown as Terraform says it. Terraform and its state are real; only the cloud API
is simulated (tests/support/simcloud.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from support.servers import run_tfhook, write_script
from support.simcloud import ELB_ID, SimCloud
from support.terraform import tfhook_terraform, updated, wait_for, write_module

HINT = "on the next apply; add it to lifecycle.ignore_changes or change the configuration"


def deleted(server_id: str) -> dict[str, object]:
    """A PostHandle(result=DELETED) for one server."""
    return updated(server_id, kind="server", result="DELETED")


def test_a_cloud_that_lost_objects_is_refused_and_changes_nothing(simcloud: SimCloud,
                                                                 tf_serve) -> None:
    web0, web1 = simcloud.id_of("simcloud_server.web[0]"), simcloud.id_of("simcloud_server.web[1]")
    before = simcloud.state_bytes()
    server = tf_serve(simcloud.dir, env=simcloud.env)
    simcloud.delete("server", web0)
    simcloud.delete("server", web1)  # wrong credentials look like this: everything gone

    error = server.call_error("PostHandle", updated())

    text = error.details()
    assert "terraform refresh refused" in text and "Nothing was changed" in text
    assert (f"2 object(s) from the state (no DELETED event of this run named them): "
            f"simcloud_server.web[0] (id {web0}), simcloud_server.web[1] (id {web1})") in text
    assert "--max-state-removals 2" in text
    assert simcloud.state_bytes() == before
    assert 'level=error event="terraform refresh refused: it would remove objects from the ' \
        'state"' in server.log()


def test_a_deleted_event_allows_exactly_its_object(simcloud: SimCloud, tf_serve) -> None:
    web0, web1 = simcloud.id_of("simcloud_server.web[0]"), simcloud.id_of("simcloud_server.web[1]")
    server = tf_serve(simcloud.dir, env=simcloud.env)
    simcloud.delete("server", web0)

    status, text = server.call("PostHandle", deleted(web0))[-1]

    assert status == "DONE", text
    assert simcloud.attributes("simcloud_server.web[0]") is None
    assert simcloud.id_of("simcloud_server.web[1]") == web1
    assert simcloud.id_of("simcloud_elb.main") == ELB_ID
    # The configuration still has two servers: the next apply would create one again.
    assert ("warning: simcloud_server.web[0]: created again on the next apply; remove it from "
            "the configuration (and any import block naming it) if it should stay gone"
            ) in text.splitlines()


def test_a_deleted_event_does_not_cover_another_object(simcloud: SimCloud, tf_serve) -> None:
    web0, web1 = simcloud.id_of("simcloud_server.web[0]"), simcloud.id_of("simcloud_server.web[1]")
    before = simcloud.state_bytes()
    server = tf_serve(simcloud.dir, env=simcloud.env)
    simcloud.delete("server", web0)
    simcloud.delete("server", web1)

    error = server.call_error("PostHandle", deleted(web0))

    assert "1 object(s) from the state" in error.details()
    assert f"simcloud_server.web[1] (id {web1})" in error.details()
    assert f"(id {web0})" not in error.details()
    assert simcloud.state_bytes() == before


def test_a_parents_id_does_not_explain_a_removal(simcloud: SimCloud, tf_serve,
                                                 tmp_path: Path) -> None:
    # A DELETED event for a server that carries no id of its own, only its ELB's: the ELB
    # is the server's parent, not the object the event says is gone.
    before = simcloud.state_bytes()
    server = tf_serve(simcloud.dir, env=simcloud.env)
    simcloud.delete("elb", ELB_ID)

    sent = run_tfhook(["send", "post-handle", "--addr", server.target, "--result", "deleted",
                       "--resource-type", "server", "--parent-type", "elb",
                       "--parent-id", ELB_ID], cwd=tmp_path, timeout=60)

    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert "terraform refresh refused" in sent.stderr, sent.stderr
    assert (f"1 object(s) from the state (no DELETED event of this run named them): "
            f"simcloud_elb.main (id {ELB_ID})") in sent.stderr
    assert simcloud.state_bytes() == before
    assert simcloud.id_of("simcloud_elb.main") == ELB_ID


def test_a_parents_id_still_chooses_what_to_refresh(simcloud: SimCloud, tf_serve) -> None:
    # Targeting may use both ids: a server's event is news about its ELB too.
    server = tf_serve(simcloud.dir, "--target-from-event", env=simcloud.env)
    request = {"source": "test", "resource_name": "server", "scaling_job_id": "job-1",
               "result": "UPDATED", "current": {"server": {"parent": {"elb": {"id": ELB_ID}}}}}

    status, text = server.call("PostHandle", request)[-1]

    assert status == "DONE", text
    assert "targeted refresh of simcloud_elb.main;" in text, text


def test_max_state_removals_allows_them(simcloud: SimCloud, tf_serve) -> None:
    web1 = simcloud.id_of("simcloud_server.web[1]")
    server = tf_serve(simcloud.dir, "--max-state-removals", "1", env=simcloud.env)
    simcloud.delete("server", web1)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE", text
    assert simcloud.attributes("simcloud_server.web[1]") is None
    assert "refresh removes objects from the state" in server.log()


def test_warn_mode_answers_done_and_changes_nothing(simcloud: SimCloud, tf_serve) -> None:
    before = simcloud.state_bytes()
    server = tf_serve(simcloud.dir, "--on-failure", "warn", env=simcloud.env)
    simcloud.delete("server", simcloud.id_of("simcloud_server.web[0]"))

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE"
    assert text.startswith("terraform refresh held (on_failure warn")
    assert "terraform refresh refused" in text and "simcloud_server.web[0]" in text
    assert simcloud.state_bytes() == before


def test_a_background_run_removes_nothing(simcloud: SimCloud, tf_serve) -> None:
    before = simcloud.state_bytes()
    simcloud.delete("server", simcloud.id_of("simcloud_server.web[0]"))

    server = tf_serve(simcloud.dir, "--refresh-on-start", env=simcloud.env)

    # The refusal's own line comes first; the run's failure, with the reason, after it.
    wait_for(lambda: "terraform refresh refused" in server.log()
             and "a background run expects none" in server.log(), timeout=60,
             what="the start-up refresh to be refused, saying why")
    assert simcloud.state_bytes() == before


def test_a_truncated_state_shows_terraforms_diagnostic(tmp_path: Path, tf_serve) -> None:
    tf_dir = write_module(tmp_path / "m", {"main.tf": 'output "a" {\n  value = 1\n}\n'})
    server = tf_serve(tf_dir)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    state = (tf_dir / "terraform.tfstate").read_bytes()
    (tf_dir / "terraform.tfstate").write_bytes(state[: len(state) // 2])

    error = server.call_error("PostHandle", updated())

    text = error.details()
    assert text.splitlines()[0].startswith("terraform refresh failed in "), text
    assert "The state file could not be parsed as JSON" in text
    assert "held by" not in text and "waited" not in text


def test_a_directory_removed_while_serving_says_so(tmp_path: Path, tf_serve) -> None:
    tf_dir = write_module(tmp_path / "gone", {"main.tf": 'output "a" {\n  value = 1\n}\n'})
    server = tf_serve(tf_dir)
    shutil.rmtree(tf_dir)

    error = server.call_error("PostHandle", updated())

    assert f"could not start: its directory {tf_dir} no longer exists" in error.details()
    assert "interpreter" not in error.details()
    assert server.proc.poll() is None


def _another_run_before(tmp_path: Path, when: str, value: str) -> tuple[Path, Path, Path]:
    """A module whose output `x` is `var.v` (applied with v=old), and an engine that first
    runs another instance's refresh (real Terraform, once, with v=`value`) when its
    arguments match the shell pattern `when`. Returns the directory, engine and marker."""
    tf_dir = write_module(tmp_path / "one-state", {"main.tf": (
        'variable "v" {\n  type = string\n}\n\noutput "x" {\n  value = var.v\n}\n')})
    tfhook_terraform(f"-chdir={tf_dir}", "apply", "-auto-approve", "-input=false",
                     "-var=v=old", cwd=tmp_path)
    other = tmp_path / "other-ran"
    engine = write_script(tmp_path / "engine", f"""
case "$1 $* " in {when})
  if [ ! -f {other} ]; then
    touch {other}
    "{sys.executable}" -m tfhook.terraform.embedded apply -refresh-only -auto-approve -input=false \\
      -var=v={value} > /dev/null
  fi;;
esac
exec "{sys.executable}" -m tfhook.terraform.embedded "$@"
""")
    return tf_dir, engine, other


def test_outputs_are_compared_under_the_lock(tmp_path: Path, tf_serve) -> None:
    # Another instance refreshes the same state just before this run takes the lock; the
    # output it changed is not this run's change.
    tf_dir, engine, other = _another_run_before(tmp_path, '"plan "*" -refresh-only "*', "new")
    server = tf_serve(tf_dir, "--var", "v=new", engine=str(engine))

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and other.exists(), text
    assert "outputs changed: none" in text.splitlines(), text


def test_a_plan_made_stale_by_another_run_is_planned_again(tmp_path: Path, tf_serve) -> None:
    # Another run writes the state between this run's plan and its apply: Terraform
    # refuses the stale plan.
    tf_dir, engine, other = _another_run_before(tmp_path, '"apply "*".tfplan "', "mid")
    server = tf_serve(tf_dir, "--var", "v=new", engine=str(engine))

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE" and other.exists(), text
    assert 'outputs changed 1: x: "mid" → "new"' in text.splitlines(), text
    assert "the state changed between plan and apply; planning again" in server.log()


def _recording_engine(tmp_path: Path) -> tuple[Path, Path]:
    """The embedded engine behind a script that writes each command's name to a file."""
    commands = tmp_path / "commands"
    engine = write_script(tmp_path / "engine", f"""
for arg in "$@"; do
  case "$arg" in -*) ;; *) echo "$arg" >> {commands}; break;; esac
done
exec "{sys.executable}" -m tfhook.terraform.embedded "$@"
""")
    return engine, commands


def test_a_plan_that_found_nothing_is_neither_shown_nor_applied(simcloud: SimCloud,
                                                                tf_serve, tmp_path: Path) -> None:
    engine, commands = _recording_engine(tmp_path)
    server = tf_serve(simcloud.dir, env=simcloud.env, engine=str(engine))
    commands.unlink(missing_ok=True)  # what the start-up ran

    status, quiet = server.call("PostHandle", updated())[-1]
    after_quiet = commands.read_text().split()
    simcloud.change("elb", ELB_ID, plan=400)
    status_drift, drift = server.call("PostHandle", updated())[-1]

    assert (status, status_drift) == ("DONE", "DONE"), (quiet, drift)
    assert after_quiet == ["plan"], quiet
    # Drift: the plan is shown (its removals checked), the state it replaces saved (a
    # snapshot: `state pull`), applied; the revert check plans (and shows only a plan with
    # changes: the ELB's plan is ignored here).
    assert commands.read_text().split()[1:] == ["plan", "show", "state", "apply", "plan"], drift
    assert "simcloud_elb.main (plan 100 -> 400, explained by job job-1)" in drift, drift
