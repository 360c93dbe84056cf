"""Several tfhook instances on one Terraform state in a real PostgreSQL (backend "pg").

Two working copies of examples/terraform/demo-pg share one state in the database and one
simulated cloud; each has its own `tfhook serve`. Terraform's pg backend serialises them with
advisory locks; tfhook adds no lock of its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from support.pg import Postgres
from support.servers import HANG_GUARD, tfhook_command
from support.terraform import (
    ROOT,
    TfServer,
    simulate,
    tf_env,
    tfhook_terraform,
    updated,
    wait_for,
)

DEMO_PG = ROOT / "examples" / "terraform" / "demo-pg"
# Every write of a state row, kept by a trigger: what the instances wrote, in order.
WRITES = """
CREATE TABLE {schema}.writes (n serial PRIMARY KEY, name text, data text);
CREATE FUNCTION {schema}.keep() RETURNS trigger AS $$
BEGIN INSERT INTO {schema}.writes (name, data) VALUES (NEW.name, NEW.data); RETURN NEW; END
$$ LANGUAGE plpgsql;
CREATE TRIGGER keep AFTER INSERT OR UPDATE ON {schema}.states
FOR EACH ROW EXECUTE FUNCTION {schema}.keep();
"""



@dataclass
class Shared:
    """One state in PostgreSQL (its own schema) and two working copies of the module."""

    pg: Postgres
    schema: str
    copies: tuple[Path, Path]
    env: dict[str, str]

    def state(self) -> dict[str, Any]:
        data = self.pg.sql(f"SELECT data FROM {self.schema}.states WHERE name = 'default'")
        return json.loads(data)  # type: ignore[no-any-return]

    def plan(self) -> Any:
        return self.state()["outputs"]["elb_plan"]["value"]

    def writes(self) -> list[dict[str, Any]]:
        rows = self.pg.sql(f"SELECT data::jsonb FROM {self.schema}.writes ORDER BY n")
        return [json.loads(row) for row in rows.splitlines() if row]


@pytest.fixture
def shared(postgres: Postgres, tmp_path: Path) -> Shared:
    schema = f"tf_{uuid.uuid4().hex[:10]}"
    first, second = tmp_path / "a", tmp_path / "b"
    for copy in (first, second):
        shutil.copytree(DEMO_PG, copy, ignore=shutil.ignore_patterns(".terraform*"))
    # One cloud for both, as a real cloud API is one place.
    shutil.rmtree(second / "cloud")
    (second / "cloud").symlink_to(first / "cloud")
    env = tf_env(PG_CONN_STR=postgres.conn, PG_SCHEMA_NAME=schema)
    for copy in (first, second):
        tfhook_terraform(f"-chdir={copy}", "init", "-input=false", "-no-color", cwd=tmp_path,
                         env={**env, "TFHOOK_TERRAFORM": "embedded"})
    tfhook_terraform(f"-chdir={first}", "apply", "-auto-approve", "-input=false", "-no-color",
                     cwd=tmp_path, env={**env, "TFHOOK_TERRAFORM": "embedded"})
    postgres.sql(WRITES.format(schema=schema))
    made = Shared(postgres, schema, (first, second), env)
    assert made.plan() == 100
    return made


@pytest.fixture
def instances(shared: Shared, tf_serve: Callable[..., TfServer], tmp_path: Path
              ) -> Callable[..., list[TfServer]]:
    """`instances(*flags)`: one `tfhook serve` per working copy, each with its own history."""
    def start(*flags: str) -> list[TfServer]:
        return [tf_serve(copy, "--state-dir", str(tmp_path / f"state-{copy.name}"), *flags,
                         env=shared.env) for copy in shared.copies]
    return start


def history(state_dir: Path) -> list[dict[str, Any]]:
    result = subprocess.run(tfhook_command("history", "--json", "--limit", "1000",
                                           "--state-dir", str(state_dir)),
                            capture_output=True, text=True, timeout=60, check=True,
                            stdin=subprocess.DEVNULL)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_two_instances_take_a_split_burst_with_no_lost_update(shared: Shared, instances,
                                                              tmp_path: Path) -> None:
    servers = instances("--lock-timeout", "120s")  # lock waits stay well within it
    first_serial = shared.state()["serial"]
    sent = {0: 0, 1: 0}
    for round_, plan in enumerate((400, 1000, 200)):
        simulate(shared.copies[0], plan)
        calls = []
        for n in range(10):  # a burst split across both ends
            end = n % 2
            sent[end] += 1
            calls.append(servers[end].stream(
                "PostHandle", updated(scaling_job_id=f"job-{round_}-{n}")))
        answers = [call.result(timeout=180) for call in calls]
        assert all(a[-1][0] == "DONE" for a in answers), answers
        assert not any("lock" in text.lower() for a in answers for _, text in a), answers
        assert shared.plan() == plan  # every change is in the state

    writes = shared.writes()
    serials = [w["serial"] for w in writes]
    # Each write is the one before it plus one: no instance wrote over a state it had not
    # read under the lock (a lost update would repeat or skip a serial).
    assert serials == list(range(first_serial + 1, first_serial + 1 + len(writes))), serials
    assert len({w["lineage"] for w in writes}) == 1
    assert [w["outputs"]["elb_plan"]["value"] for w in writes][-1] == 200
    assert {400, 1000, 200} <= {w["outputs"]["elb_plan"]["value"] for w in writes}
    for end, copy in enumerate(shared.copies):  # each instance's history has its calls ...
        calls = history(tmp_path / f"state-{copy.name}")
        assert len(calls) == sent[end] == 15
        assert {c["outcome"] for c in calls} == {"done"}, calls
        assert {c["scaling_job_id"] for c in calls} == {
            f"job-{r}-{n}" for r in range(3) for n in range(end, 10, 2)}
        # ... each answered by a refresh this instance ran in its own working copy.
        assert all(f"terraform plan -refresh-only in {copy} (" in c["output"]
                   and "DONE: terraform refresh done" in c["output"] for c in calls), calls


def test_a_lock_held_by_another_session_is_named_as_such(shared: Shared, instances) -> None:
    server, _ = instances("--lock-timeout", "1s")
    row = shared.pg.sql(f"SELECT id FROM {shared.schema}.states WHERE name = 'default'")
    # Terraform's pg backend locks the state row's id with a session advisory lock.
    holder = shared.pg.hold(f"SELECT pg_advisory_lock({int(row)})")
    try:
        error = server.call_error("PostHandle", updated())
    finally:
        holder.communicate(timeout=HANG_GUARD)  # closing the session releases its locks
    assert error.code() == grpc.StatusCode.ABORTED
    details = error.details()
    assert details.startswith("terraform state is locked by another client "
                              "(Workspace is already locked: default); waited "
                              "--lock-timeout 1s."), details
    # pg's lock info is the requester's own: tfhook never names it as the holder.
    assert "held by" not in details and "force-unlock cannot release it" in details
    simulate(shared.copies[0], 400)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    assert shared.plan() == 400


def test_targeted_refresh_and_coalescing_with_a_pg_state(shared: Shared, tf_serve) -> None:
    server = tf_serve(shared.copies[0], "--target-from-event", "--lock-timeout", "120s",
                      env=shared.env)
    simulate(shared.copies[0], 400)
    # Another client holds the state's lock: the first run waits for it, the rest queue.
    row = shared.pg.sql(f"SELECT id FROM {shared.schema}.states WHERE name = 'default'")
    holder = shared.pg.hold(f"SELECT pg_advisory_lock({int(row)})")
    try:
        calls = [server.stream("PostHandle", updated(scaling_job_id=f"job-{n}"))
                 for n in range(8)]
        wait_for(lambda: sum("ACCEPTED" in c.statuses() for c in calls) == 7, timeout=60,
                 what="7 calls queued behind the first run")
        assert not any(c.finished.is_set() for c in calls)  # still waiting for the lock
    finally:
        holder.communicate(timeout=HANG_GUARD)
    answers = [call.result(timeout=120) for call in calls]
    assert all(a[-1][0] == "DONE" for a in answers), answers
    done = {a[-1][1] for a in answers}
    assert len(done) == 2, done  # two runs served eight calls
    assert all("targeted refresh of terraform_data.elb" in text for text in done), done
    assert any("serving 7 request(s)" in text for text in done), done
    assert shared.plan() == 400


def test_without_postgresql_the_tests_skip_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from support import pg as pg_helpers
    monkeypatch.setattr(pg_helpers, "bin_dir", lambda: None)
    reason = pg_helpers.why_not()
    assert reason is not None and "PostgreSQL is not installed" in reason
    assert "make tools" in reason
