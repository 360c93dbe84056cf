"""Explained drift and held plans (#21) on the simulated cloud: each drift is classed by the
run's events; a plan the guard refuses or `unexplained_drift: hold` stops is kept as run-N
for an operator, who approves it (exactly that plan is applied) or denies it. The answers
come from a real server; approve and deny are called on the Directory itself (the admin
service's CLI calls the same methods). Terraform, its state and the history are real."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import stat
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from support.servers import HANG_GUARD, free_port
from support.simcloud import ELB_ID, SimCloud
from support.terraform import updated

from tfhook.core.decisions import Refused, Who
from tfhook.core.hooks import Hook, TerraformAction
from tfhook.core.observer import Observers
from tfhook.errors import ActionFailed
from tfhook.history import History
from tfhook.observe.history_sink import HistorySink
from tfhook.terraform.directory import Directory
from tfhook.terraform.held import Shelf

ALICE = Who("alice")


def test_the_done_classes_each_drift_by_the_events(simcloud: SimCloud, tf_serve) -> None:
    server = tf_serve(simcloud.dir, env=simcloud.env)
    web0 = simcloud.id_of("simcloud_server.web[0]")
    simcloud.change("elb", ELB_ID, plan=400)  # what the event's job did
    simcloud.change("server", web0, memory=8)  # what no event explains

    status, text = server.call("PostHandle", updated(scaling_job_id="elb-front"))[-1]

    assert status == "DONE", text
    assert ("drifted 2: simcloud_elb.main (plan 100 -> 400, explained by job elb-front); "
            "simcloud_server.web[0] (memory 2 -> 8, not explained by any event)"
            ) in text.splitlines(), text
    assert "unexplained=1" in server.log()


def test_a_repeat_event_on_a_held_directory_is_already_held(simcloud: SimCloud, tf_serve,
                                                            tmp_path: Path) -> None:
    state, port = tmp_path / "state", free_port()
    config = tmp_path / "handler.yaml"
    config.write_text(f'exporter_config: {{enabled: true, address: "127.0.0.1:{port}"}}\n')
    server = tf_serve(simcloud.dir, "--on-failure", "warn", "--unexplained-drift", "hold",
                      "--state-dir", str(state), "--config", str(config), env=simcloud.env)
    simcloud.change("elb", ELB_ID, plan=400)  # what the event's job did
    simcloud.change("server", simcloud.id_of("simcloud_server.web[0]"), memory=8)  # no event

    texts = [server.call("PostHandle", updated(scaling_job_id="elb-front"))[-1]
             for _ in range(2)]

    first, again = (text for _, text in texts)
    assert [status for status, _ in texts] == ["DONE", "DONE"]
    assert first.startswith("terraform refresh held (on_failure warn"), first
    # Every drift, each with its class: the explained one too.
    assert ("1 of 2 drifted object(s) explained by no event (unexplained_drift hold): "
            "simcloud_elb.main (plan 100 -> 400, explained by job elb-front); "
            "simcloud_server.web[0] (memory 2 -> 8, not explained by any event)") in first, first
    assert again.startswith("terraform refresh held (on_failure warn"), again
    assert "the same changes are already held as run-1" in again, again
    assert [row[:2] for row in _runs(state)] == [(1, "held"), (2, "already-held")]
    [line] = [x for x in server.log().splitlines() if "run=2" in x and "run held" in x]
    assert "outcome=already-held" in line and "level=warn " in line, line
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=HANG_GUARD) as response:
        metrics = response.read().decode()
    counted = re.findall(r'tfhook_runs_total\{outcome="([^"]+)",route="terraform",'
                         r'trigger="event"\} (\S+)', metrics)
    assert [c for c in counted if c[1] != "0.0"] == [("held", "1.0"), ("already-held", "1.0")], \
        counted


def test_a_held_refusal_in_warn_mode_says_how_to_decide(simcloud: SimCloud, tf_serve) -> None:
    before = simcloud.state_bytes()
    server = tf_serve(simcloud.dir, "--on-failure", "warn", env=simcloud.env)
    simcloud.delete("server", simcloud.id_of("simcloud_server.web[1]"))

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE", text
    # No retry while the plan waits: it would only find the same plan.
    # Held, not failed: the plan waits for an operator.
    assert text.startswith("terraform refresh held (on_failure warn; the scaling job is "
                           "not failed): terraform refresh refused"), text
    assert "The plan is held as run-1: tfhook runs approve run-1 --addr unix:" in text, text
    assert "(or discard it: tfhook runs deny run-1 --addr unix:" in text
    assert simcloud.state_bytes() == before


# -- approve and deny, on the Directory --------------------------------------------------


def _directory(cloud: SimCloud, state: Path, **action: Any) -> tuple[Directory, History]:
    history = History(state, keep=86400.0)
    hook = Hook("cloud", TerraformAction(dir=cloud.dir, engine="embedded", **action))
    return Directory(hook, dict(cloud.env), Observers([HistorySink(history)]),
                     Shelf(state / "held", 7 * 86400.0, "unix:/run/tfhook.sock")), history


def _with_directory(cloud: SimCloud, state: Path,
                    body: Callable[[Directory], Awaitable[None]], **action: Any) -> None:
    async def main() -> None:
        directory, history = _directory(cloud, state, **action)
        try:
            await body(directory)
        finally:
            await directory.close()
            await history.flush()
            history.close()
    asyncio.run(main())


async def _refresh(directory: Directory) -> str:
    """A background refresh (reconcile): it explains no drift."""
    updates = [u async for u in directory.flight.join("reconcile", background=True)]
    return str(updates[-1])


async def _refused(directory: Directory) -> str:
    with pytest.raises(ActionFailed) as refused:
        await _refresh(directory)
    return str(refused.value)


def _runs(state: Path) -> list[tuple[int, str, str | None]]:
    with sqlite3.connect(state / "history.sqlite3") as conn:
        return list(conn.execute("SELECT id, outcome, error FROM runs ORDER BY id"))


def test_hold_keeps_the_plan_and_approve_applies_exactly_it(simcloud: SimCloud,
                                                           tmp_path: Path) -> None:
    state, before = tmp_path / "state", simcloud.state_bytes()
    simcloud.change("elb", ELB_ID, plan=400)
    seen: dict[str, Any] = {}

    async def body(directory: Directory) -> None:
        seen["refused"] = await _refused(directory)
        seen["held"] = directory.held_run()
        seen["state"] = simcloud.state_bytes()
        seen["files"] = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (state / "held").iterdir()}
        seen["folder"] = stat.S_IMODE((state / "held").stat().st_mode)
        directory.schedule_retry()  # a warned failure asks for one: none while held
        seen["retry"] = directory._retry
        simcloud.change("elb", ELB_ID, plan=500)  # the cloud moves on: the state does not
        seen["approved"] = await directory.approve(1, ALICE)
        seen["after"] = directory.held_run()
        with pytest.raises(Refused, match="run-1 is not held here"):
            await directory.approve(1, ALICE)

    _with_directory(simcloud, state, body, unexplained_drift="hold")

    assert "1 of 1 drifted object(s) explained by no event (unexplained_drift hold): " \
        "simcloud_elb.main (plan 100 -> 400, not explained by any event)" in seen["refused"]
    assert "held as run-1: tfhook runs approve run-1 --addr unix:/run/tfhook.sock" \
        in seen["refused"]
    held = seen["held"]
    assert (held.run, held.reason, held.changes) == (
        1, "unexplained drift", ("simcloud_elb.main (plan 100 -> 400, not explained by any event)",))
    assert seen["state"] == before  # held: nothing applied
    assert seen["files"] == {"run-1.tfplan": 0o600, "run-1.json": 0o600}
    assert seen["folder"] == 0o700 and seen["retry"] is None
    assert seen["approved"].startswith(f"applied run-1 in {simcloud.dir}: simcloud_elb.main "
                                       "(plan 100 -> 400"), seen["approved"]
    # Exactly the held plan: 400, not the 500 the cloud says now.
    assert simcloud.attributes("simcloud_elb.main")["plan"] == 400  # type: ignore[index]
    assert seen["after"] is None and not list((state / "held").iterdir())
    assert _runs(state) == [(1, "applied", "applied by alice")]


def test_a_stale_held_plan_that_now_changes_more_is_held_again(simcloud: SimCloud,
                                                              tmp_path: Path) -> None:
    state = tmp_path / "state"
    web0, web1 = (simcloud.id_of(f"simcloud_server.web[{n}]") for n in (0, 1))
    simcloud.change("elb", ELB_ID, plan=400)
    seen: dict[str, Any] = {}

    async def body(directory: Directory) -> None:
        await _refused(directory)
        # Another change in between: the state moves (web[0] refreshed by hand), and the
        # cloud has one more drift (web[1]).
        simcloud.change("server", web0, memory=4)
        simcloud.terraform("apply", "-refresh-only", "-auto-approve", "-input=false",
                           "-target=simcloud_server.web[0]")
        seen["between"] = simcloud.state_bytes()
        simcloud.change("server", web1, memory=8)
        with pytest.raises(Refused) as refused:
            await directory.approve(1, ALICE)
        seen["refused"] = str(refused.value)
        seen["held"] = directory.held_run()
        seen["state"] = simcloud.state_bytes()

    _with_directory(simcloud, state, body, unexplained_drift="hold")

    assert seen["refused"] == (
        "run-1's plan is stale and planning again changes now also simcloud_server.web[1] "
        "(memory 2 -> 8): nothing was applied; the new plan is held as run-2: tfhook runs "
        "approve run-2 --addr unix:/run/tfhook.sock (or discard it: tfhook runs deny run-2 "
        "--addr unix:/run/tfhook.sock)"), seen["refused"]
    assert seen["held"].run == 2 and len(seen["held"].changes) == 2
    assert seen["state"] == seen["between"]
    assert _runs(state) == [(1, "superseded", "superseded: a newer plan changes something "
                             "else: run-2"), (2, "held", seen["refused"].partition(
                                 "the new plan is ")[2])]


def test_a_stale_held_plan_that_changes_the_same_is_applied(simcloud: SimCloud,
                                                          tmp_path: Path) -> None:
    state = tmp_path / "state"
    web0 = simcloud.id_of("simcloud_server.web[0]")
    simcloud.change("elb", ELB_ID, plan=400)
    seen: dict[str, Any] = {}

    async def body(directory: Directory) -> None:
        await _refused(directory)
        simcloud.change("server", web0, memory=4)
        simcloud.terraform("apply", "-refresh-only", "-auto-approve", "-input=false",
                           "-target=simcloud_server.web[0]")
        seen["approved"] = await directory.approve(1, ALICE)

    _with_directory(simcloud, state, body, unexplained_drift="hold")

    assert "(planned again: the state had changed since; the new plan changes exactly what " \
        "was approved)" in seen["approved"], seen["approved"]
    assert simcloud.attributes("simcloud_elb.main")["plan"] == 400  # type: ignore[index]
    assert [row[:2] for row in _runs(state)] == [(1, "applied")]


def test_deny_discards_the_held_plan(simcloud: SimCloud, tmp_path: Path) -> None:
    state, before = tmp_path / "state", simcloud.state_bytes()
    simcloud.change("elb", ELB_ID, plan=400)
    seen: dict[str, Any] = {}

    async def body(directory: Directory) -> None:
        await _refused(directory)
        seen["denied"] = await directory.deny(1, Who("bob"))
        seen["held"] = directory.held_run()
        with pytest.raises(Refused, match="run-1 is not held here"):
            await directory.approve(1, ALICE)
        with pytest.raises(Refused, match="run-7 is not held here"):
            await directory.deny(7, ALICE)

    _with_directory(simcloud, state, body, unexplained_drift="hold")

    assert seen["denied"] == (f"denied run-1 in {simcloud.dir}: discarded simcloud_elb.main "
                              "(plan 100 -> 400, not explained by any event)")
    assert seen["held"] is None and not list((state / "held").iterdir())
    assert simcloud.state_bytes() == before
    assert _runs(state) == [(1, "denied", "denied by bob")]


def test_a_refused_removal_held_then_approved_removes_exactly_it(simcloud: SimCloud,
                                                                tmp_path: Path) -> None:
    state, web0 = tmp_path / "state", simcloud.id_of("simcloud_server.web[0]")
    simcloud.delete("server", simcloud.id_of("simcloud_server.web[1]"))
    seen: dict[str, Any] = {}

    async def body(directory: Directory) -> None:  # unexplained_drift apply: the guard holds
        seen["refused"] = await _refused(directory)
        seen["state"] = simcloud.state_bytes()
        seen["approved"] = await directory.approve(1, ALICE)

    before = simcloud.state_bytes()
    _with_directory(simcloud, state, body)

    assert "terraform refresh refused" in seen["refused"]
    assert "The plan is held as run-1" in seen["refused"] and seen["state"] == before
    first, *after = seen["approved"].splitlines()
    assert first.endswith("simcloud_server.web[1] (gone from the cloud, not explained by any "
                          "event)"), seen["approved"]
    # Checked as after a refresh's apply: the configuration would create it again.
    assert after == ["warning: simcloud_server.web[1]: created again on the next apply; "
                     "remove it from the configuration (and any import block naming it) if "
                     "it should stay gone"], seen["approved"]
    assert simcloud.attributes("simcloud_server.web[1]") is None
    assert simcloud.id_of("simcloud_server.web[0]") == web0
    assert simcloud.id_of("simcloud_elb.main") == ELB_ID


def test_a_reconcile_does_not_hold_the_same_plan_again(simcloud: SimCloud,
                                                      tmp_path: Path) -> None:
    state = tmp_path / "state"
    simcloud.change("elb", ELB_ID, plan=400)
    seen: dict[str, Any] = {}

    async def body(directory: Directory) -> None:
        await _refused(directory)
        seen["again"] = await _refused(directory)
        seen["held"] = directory.held_run()

    _with_directory(simcloud, state, body, unexplained_drift="hold")

    assert "the same changes are already held as run-1" in seen["again"]
    assert seen["held"].run == 1
    assert [row[:2] for row in _runs(state)] == [(1, "held"), (2, "already-held")]
