"""Snapshots before each apply, and rollbacks, with real Terraform on the simulated cloud.

A server refreshes twice (ELB plan 100 -> 400 -> 1000), saving the state each apply
replaces; `tfhook state rollback` then puts one back and a second rollback undoes the first.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import uuid
from pathlib import Path
from typing import Any

from support.held import held_directory, hold_run_1
from support.pg import Postgres
from support.servers import HANG_GUARD, ROOT, tfhook_command
from support.simcloud import ELB_ID, SimCloud
from support.terraform import Recorder, simulate, tf_env, tfhook_terraform, updated

from tfhook.core.decisions import Who


def tfhook(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tfhook_command(*args), capture_output=True, text=True, env=env,
                          timeout=HANG_GUARD, check=False, stdin=subprocess.DEVNULL)


def runs(state_dir: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """The history's runs, oldest first."""
    done = tfhook("history", "runs", "--json", "--state-dir", str(state_dir), env=env)
    assert done.returncode == 0, done.stderr
    return list(reversed(json.loads(done.stdout)))


def snapshot(state_dir: Path, run: int) -> dict[str, Any]:
    return json.loads((state_dir / "snapshots" / f"run-{run}.tfstate").read_bytes())  # type: ignore[no-any-return]


def resources(document: dict[str, Any]) -> str:
    """The resources as bytes to compare (the order Terraform wrote them in)."""
    return json.dumps(document["resources"])


def refresh_to(cloud: SimCloud, server: Any, plan: int) -> None:
    cloud.change("elb", ELB_ID, plan=plan)
    answers = server.call("PostHandle", updated())
    assert answers[-1][0] == "DONE", answers
    assert cloud.attributes("simcloud_elb.main")["plan"] == plan  # type: ignore[index]


def test_a_rollback_restores_the_state_and_a_second_one_undoes_it(
        simcloud: SimCloud, tf_serve, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    server = tf_serve(simcloud.dir, "--state-dir", str(state_dir), env=simcloud.env)
    at_100 = simcloud.state()
    refresh_to(simcloud, server, 400)
    at_400 = simcloud.state()
    refresh_to(simcloud, server, 1000)
    at_1000 = simcloud.state()
    first, second = (run["id"] for run in runs(state_dir, simcloud.env))
    # Each snapshot is the state its run replaced, private to the server's user.
    assert resources(snapshot(state_dir, first)) == resources(at_100)
    assert resources(snapshot(state_dir, second)) == resources(at_400)
    folder = state_dir / "snapshots"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}

    listed = tfhook("state", "snapshots", str(simcloud.dir), "--state-dir", str(state_dir),
                    env=simcloud.env)
    header, *lines = listed.stdout.splitlines()
    assert header.split() == ["run", "time", "serial", "lineage", "size"]
    rows = [line.split()[:1] + line.split()[3:5] for line in lines]  # time: date and hour
    assert rows == [[f"run-{first}", str(at_100["serial"]), at_100["lineage"]],
                    [f"run-{second}", str(at_400["serial"]), at_400["lineage"]]], listed.stdout

    shown = tfhook("state", "rollback", f"run-{second}", "--state-dir", str(state_dir),
                   env=simcloud.env)
    assert shown.returncode == 0, shown.stderr
    assert "  simcloud_elb.main: plan 1000 -> 400\n" in shown.stdout, shown.stdout
    assert "output elb_plan" not in shown.stdout or "1000 -> 400" in shown.stdout
    assert simcloud.state() == at_1000  # only shown: nothing pushed

    back = tfhook("state", "rollback", f"run-{second}", "--state-dir", str(state_dir),
                  "--yes", env=simcloud.env)
    assert back.returncode == 0, back.stderr
    # stdout holds the result alone; logs go to stderr, warnings only by default.
    assert back.stdout.startswith(f"rollback of {simcloud.dir} to the state before "
                                  f"run-{second} "), back.stdout
    assert "level=" not in back.stdout and "level=" not in back.stderr, back
    rolled = simcloud.state()
    assert resources(rolled) == resources(at_400)
    # tfhook pushes serial current + 1; the local backend adds one as it writes (the pushed
    # state differs from the one it read): the serial is above the current one, as stated.
    assert f"pushed as serial {at_1000['serial'] + 1}" in back.stdout, back.stdout
    assert (rolled["lineage"], rolled["serial"]) == (at_1000["lineage"], at_1000["serial"] + 2)
    rollback_run = runs(state_dir, simcloud.env)[-1]
    assert (rollback_run["triggers"], rollback_run["outcome"]) == (["rollback"], "done")
    # Recorded under the route of the run it undoes, with what it changed, and decided.
    assert (rollback_run["route"], rollback_run["drifted"]) == (
        "terraform", ["simcloud_elb.main: plan 1000 -> 400"])
    listed_runs = tfhook("history", "runs", "--state-dir", str(state_dir), env=simcloud.env)
    assert "rolled back 1: simcloud_elb.main: plan 1000 -> 400" in listed_runs.stdout, listed_runs.stdout
    decisions = tfhook("history", "decisions", "--json", "--state-dir", str(state_dir),
                       env=simcloud.env)
    assert [(d["action"], d["run_id"], d["outcome"], d["route"], d["peer"])
            for d in json.loads(decisions.stdout)] == [
        ("rollback", second, "done", "terraform", "local")], decisions.stdout
    assert resources(snapshot(state_dir, rollback_run["id"])) == resources(at_1000)

    again = tfhook("state", "rollback", f"run-{rollback_run['id']}", "--state-dir",
                   str(state_dir), "--yes", env=simcloud.env)
    assert again.returncode == 0, again.stderr
    undone = simcloud.state()
    assert resources(undone) == resources(at_1000)
    assert (undone["lineage"], undone["serial"]) == (at_1000["lineage"], rolled["serial"] + 2)


def test_a_snapshot_of_another_lineage_is_refused(simcloud: SimCloud, tf_serve,
                                                  tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    server = tf_serve(simcloud.dir, "--state-dir", str(state_dir), env=simcloud.env)
    refresh_to(simcloud, server, 400)
    (run,) = runs(state_dir, simcloud.env)
    server.close()
    # The state is lost and made again: a new lineage, the same directory.
    for name in ("terraform.tfstate", "terraform.tfstate.backup"):
        (simcloud.dir / name).unlink(missing_ok=True)
    simcloud.apply()
    before = simcloud.state_bytes()

    refused = tfhook("state", "rollback", f"run-{run['id']}", "--state-dir", str(state_dir),
                     "--yes", env=simcloud.env)

    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith(f"tfhook: refused: the snapshot of run-{run['id']} is of "
                                     "lineage "), refused.stderr
    assert refused.stderr.count("\n") == 1
    assert simcloud.state_bytes() == before
    missing = tfhook("state", "rollback", "run-99", "--state-dir", str(state_dir),
                     env=simcloud.env)
    assert missing.returncode == 1
    assert missing.stderr.startswith("tfhook: refused: no snapshot of run-99 in ")
    bad = tfhook("state", "rollback", "last", "--state-dir", str(state_dir), env=simcloud.env)
    assert (bad.returncode, bad.stderr) == (2, "tfhook: error: 'last': expected a run id "
                                               "(run-3)\n")


def test_only_runs_that_apply_pull_a_snapshot_and_old_ones_are_pruned(
        simcloud: SimCloud, tf_serve, tmp_path: Path) -> None:
    recorder = Recorder.create(tmp_path)
    state_dir = tmp_path / "state"
    server = tf_serve(simcloud.dir, "--state-dir", str(state_dir), "--snapshots-keep", "2",
                      engine=str(recorder.path), env=simcloud.env)

    def commands() -> list[list[str]]:
        return [argv[:2] for argv, _ in recorder.invocations()]

    started = len(commands())
    assert server.call("PostHandle", updated())[-1][0] == "DONE"  # nothing drifted
    assert ["state", "pull"] not in commands()[started:]
    assert not (state_dir / "snapshots").exists()

    states = []
    for plan in (400, 1000, 200):
        states.append(simcloud.state())
        before = len(commands())
        refresh_to(simcloud, server, plan)
        ran = commands()[before:]
        assert ran.count(["state", "pull"]) == 1, ran
        assert ran.count(["apply", "-input=false"]) == 1, ran
    ids = [run["id"] for run in runs(state_dir, simcloud.env)][-3:]
    kept = sorted(path.name for path in (state_dir / "snapshots").iterdir())
    assert kept == sorted(f"run-{n}.{ext}" for n in ids[1:] for ext in ("json", "tfstate"))
    for run_id, replaced in zip(ids[1:], states[1:], strict=True):
        assert resources(snapshot(state_dir, run_id)) == resources(replaced)
    assert os.stat(state_dir / "snapshots" / f"run-{ids[2]}.tfstate").st_mode & 0o077 == 0


def test_an_approved_held_plan_saves_the_state_it_replaces_as_the_held_runs(
        simcloud: SimCloud, tmp_path: Path) -> None:
    state_dir, before = tmp_path / "state", simcloud.state()
    simcloud.change("elb", ELB_ID, plan=400)

    async def main() -> str:
        async with held_directory(simcloud, state_dir) as directory:
            await hold_run_1(directory)
            assert not (state_dir / "snapshots").exists()  # held: nothing applied
            return await directory.approve(1, Who("alice"))

    assert asyncio.run(main()).startswith("applied run-1")
    approved = simcloud.state()
    assert resources(snapshot(state_dir, 1)) == resources(before)
    undo = tfhook("state", "rollback", "run-1", "--state-dir", str(state_dir), "--yes",
                  env=simcloud.env)
    assert undo.returncode == 0, undo.stderr
    assert resources(simcloud.state()) == resources(before)
    assert simcloud.state()["serial"] == approved["serial"] + 2


def test_a_rollback_through_the_server_runs_under_its_flight(simcloud: SimCloud, tf_serve,
                                                            tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    server = tf_serve(simcloud.dir, "--state-dir", str(state_dir), env=simcloud.env)
    before = simcloud.state()
    refresh_to(simcloud, server, 400)
    (run,) = runs(state_dir, simcloud.env)
    common = ("state", "rollback", f"run-{run['id']}", "--state-dir", str(state_dir))

    tcp = tfhook(*common, "--addr", "127.0.0.1:1", "--yes", env=simcloud.env)
    assert tcp.returncode == 2 and "the admin service answers only on a unix socket" \
        in tcp.stderr, tcp.stderr
    shown = tfhook(*common, "--addr", server.target, env=simcloud.env)
    assert shown.returncode == 0, shown.stderr
    assert "  simcloud_elb.main: plan 400 -> 100\n" in shown.stdout, shown.stdout
    back = tfhook(*common, "--addr", server.target, "--yes", env=simcloud.env)

    assert back.returncode == 0, back.stderr
    assert resources(simcloud.state()) == resources(before)
    rollback_run = runs(state_dir, simcloud.env)[-1]
    assert (rollback_run["triggers"], rollback_run["outcome"]) == (["rollback"], "done")
    assert rollback_run["route"] == run["route"]  # the server's own directory ran it
    assert resources(snapshot(state_dir, rollback_run["id"])) != resources(before)
    decisions = tfhook("history", "decisions", "--json", "--state-dir", str(state_dir),
                       env=simcloud.env)
    assert [(d["action"], d["run_id"], d["outcome"]) for d in json.loads(decisions.stdout)] == [
        ("rollback", run["id"], "done")], decisions.stdout


def test_a_direct_rollback_leaves_a_running_servers_history_whole(
        simcloud: SimCloud, tf_serve, tmp_path: Path) -> None:
    """The CLI opens the server's history (a direct rollback writes its run there, `tfhook
    history` reads it) while the server keeps writing: no row of either may be lost, and the
    server's -wal/-shm must stay (SQLite deletes them when it believes it is the last
    connection; a process that closed a stray descriptor of the file lost its locks)."""
    state_dir = tmp_path / "state"
    server = tf_serve(simcloud.dir, "--state-dir", str(state_dir), env=simcloud.env)
    refresh_to(simcloud, server, 400)
    (first,) = runs(state_dir, simcloud.env)

    back = tfhook("state", "rollback", f"run-{first['id']}", "--state-dir", str(state_dir),
                  "--yes", env=simcloud.env)
    assert back.returncode == 0, back.stderr
    refresh_to(simcloud, server, 1000)  # the server writes on after the CLI closed it
    refresh_to(simcloud, server, 200)

    open_files = [os.readlink(f"/proc/{server.proc.pid}/fd/{fd}")
                  for fd in os.listdir(f"/proc/{server.proc.pid}/fd")]
    assert not [name for name in open_files if "history.sqlite3" in name
                and name.endswith("(deleted)")], open_files
    assert [(run["triggers"], run["outcome"]) for run in runs(state_dir, simcloud.env)] == [
        (["event"], "done"), (["rollback"], "done"), (["event"], "done"), (["event"], "done")]
    conn = sqlite3.connect(f"{(state_dir / 'history.sqlite3').as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM calls WHERE outcome IS NOT NULL"
                            ).fetchone() == (3,)
    finally:
        conn.close()



def test_a_rollback_of_a_state_kept_in_postgresql(postgres: Postgres, tf_serve,
                                                  tmp_path: Path) -> None:
    schema = f"tf_{uuid.uuid4().hex[:10]}"
    tf_dir = tmp_path / "pg"
    shutil.copytree(ROOT / "examples" / "terraform" / "demo-pg", tf_dir,
                    ignore=shutil.ignore_patterns(".terraform*"))
    env = tf_env(PG_CONN_STR=postgres.conn, PG_SCHEMA_NAME=schema)
    for args in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        tfhook_terraform(f"-chdir={tf_dir}", *args, "-no-color", cwd=tmp_path,
                         env={**env, "TFHOOK_TERRAFORM": "embedded"})

    def pg_state() -> dict[str, Any]:
        return json.loads(postgres.sql(  # type: ignore[no-any-return]
            f"SELECT data FROM {schema}.states WHERE name = 'default'"))

    state_dir, before = tmp_path / "state", pg_state()
    server = tf_serve(tf_dir, "--state-dir", str(state_dir), env=env)
    simulate(tf_dir, 400)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    refreshed = pg_state()
    assert refreshed["outputs"]["elb_plan"]["value"] == 400
    (run,) = runs(state_dir, env)
    assert resources(snapshot(state_dir, run["id"])) == resources(before)

    back = tfhook("state", "rollback", f"run-{run['id']}", "--state-dir", str(state_dir),
                  "--yes", env=env)
    assert back.returncode == 0, back.stderr
    rolled = pg_state()
    assert resources(rolled) == resources(before)
    assert rolled["outputs"]["elb_plan"]["value"] == 100
    assert (rolled["lineage"], rolled["serial"]) == (refreshed["lineage"],
                                                     refreshed["serial"] + 2)
    undo = runs(state_dir, env)[-1]
    again = tfhook("state", "rollback", f"run-{undo['id']}", "--state-dir", str(state_dir),
                   "--yes", env=env)
    assert again.returncode == 0, again.stderr
    assert resources(pg_state()) == resources(refreshed)
