"""How the observers record calls and runs: the history (a real database), metrics, logs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from tfhook.core.model import Action, Event, GoJson, Phase, ResourceIds, Status, Update
from tfhook.core.observer import Call, Observers, Run, call_end
from tfhook.history import History, query
from tfhook.observe.history_sink import OUTPUT_MAX, HistorySink
from tfhook.observe.logs import LogSink

REQUEST = (b'{"resource_name":"web","scaling_job_id":"job-9","result":3,"current":{"Resource":'
           b'{"ServerGroupInstance":{"edit_parameter":{"password":"Secret-Pw-77"}}}}}')


def event(phase: Phase = Phase.POST_HANDLE, **fields) -> Event:
    values = {"source": "s", "resource_name": "web", "scaling_job_id": "job-9", "instruction": 0,
              "result": 3, "resource_ids": ResourceIds(), "request_json": GoJson(REQUEST),
              "resource_type": "server_group_instance"}
    return Event(phase=phase, **{**values, **fields})


def play(tmp_path: Path, action: Action, updates: list[Update], error: BaseException | None = None,
         requests: bool = True) -> dict:
    history = History(tmp_path, keep=10**9, requests=requests)
    observer = Observers([LogSink(), HistorySink(history)])
    routes = () if action.hook is None else (action.hook,)

    async def call() -> None:
        record = Call(action.event, routes)
        await observer.call_start(record)
        for update in updates:
            record.coalesced |= update.queued  # as the pipeline does
            observer.call_update(record, update)
        final = None if error else (updates[-1] if updates else None)
        await observer.call_end(record, call_end(record, final, error, [7] if routes else []))

    with capture_logs():
        asyncio.run(call())
    history.close()
    conn = query.connect(tmp_path)
    try:
        [row] = query.calls(conn, query.Filters())
    finally:
        conn.close()
    return row


def test_a_call_that_ran(tmp_path: Path) -> None:
    row = play(tmp_path, Action(event(), "terraform"),
               [Update(Status.RUNNING, "refreshing"), Update(Status.DONE, "said Secret-Pw-77")])
    assert (row["resource_type"], row["result"], row["instruction"], row["routes"],
            row["decision"], row["outcome"], row["duration"]) == (
        "server_group_instance", "DELETED", "", ["terraform"], "ran", "done", row["duration"])
    assert row["run_id"] == 7 and 0 <= row["duration"] < 60
    assert row["output"] == "RUNNING: refreshing\nDONE: said [redacted]"
    assert "Secret-Pw-77" not in row["request"] and '"edit_parameter":"[redacted]"' in row["request"]


def test_a_call_queued_behind_a_run_is_coalesced(tmp_path: Path) -> None:
    row = play(tmp_path, Action(event(), "terraform"),
               [Update(Status.ACCEPTED, "queued behind the current run", queued=True), Update(Status.DONE)])
    assert (row["decision"], row["outcome"]) == ("coalesced", "done")


def test_skipped_failed_and_timed_out_calls(tmp_path: Path) -> None:
    from tfhook.errors import ActionTimeout

    skipped = play(tmp_path / "a", Action(event(Phase.HANDLE, instruction=1), None, "why"), [])
    assert (skipped["decision"], skipped["outcome"], skipped["instruction"], skipped["result"],
            skipped["routes"]) == ("ignored", "empty", "CREATE", "", [])
    failed = play(tmp_path / "b", Action(event(), "executable"), [],
                  RuntimeError("hook said Secret-Pw-77"))
    assert (failed["outcome"], failed["error"]) == ("failed", "hook said [redacted]")
    late = play(tmp_path / "c", Action(event(), "executable"), [], ActionTimeout("too slow"))
    assert late["outcome"] == "timeout"


def test_output_keeps_its_end_within_bounds(tmp_path: Path) -> None:
    lines = [Update(Status.RUNNING, f"line {i:05d} " + "x" * 100) for i in range(500)]
    row = play(tmp_path, Action(event(), "terraform"), [*lines, Update(Status.DONE, "the end")])
    assert len(row["output"]) == OUTPUT_MAX
    assert row["output"].endswith("DONE: the end") and "line 00000" not in row["output"]


def test_requests_are_left_out_unless_kept(tmp_path: Path) -> None:
    row = play(tmp_path, Action(event(), "executable"), [Update(Status.DONE)], requests=False)
    assert row["request"] is None


def test_a_run_is_recorded_and_counted(tmp_path: Path) -> None:
    from tfhook.observe.metrics import MetricsSink

    history, metrics = History(tmp_path, keep=10**9), MetricsSink()
    observer = Observers([LogSink(), metrics, HistorySink(history)])

    async def runs() -> None:
        locked = Run("web", "/infra/web", ("event", "retry"))
        await observer.run_start(locked)
        assert locked.id == 1 and locked.trigger == "event"
        locked.outcome, locked.error, locked.lock_failed = "failed", "lock held by x", True
        locked.stop(events=3)
        observer.run_end(locked)
        good = Run("web", "/infra/web", ("reconcile",))
        await observer.run_start(good)
        good.outcome, good.drifted = "done", ("terraform_data.elb (update)",)
        good.refreshed = ("terraform_data.elb", "data.x")
        good.stop(events=0)
        observer.run_end(good)

    with capture_logs() as logs:
        asyncio.run(runs())
    history.close()

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"route": "web", **labels})

    assert sample("tfhook_runs_total", trigger="event", outcome="failed") == 1
    assert sample("tfhook_runs_total", trigger="reconcile", outcome="done") == 1
    assert sample("tfhook_events_coalesced_total") == 2
    assert sample("tfhook_lock_failures_total") == 1
    assert (sample("tfhook_resources_refreshed_total"),
            sample("tfhook_resources_drifted_total")) == (2, 1)
    assert sample("tfhook_runs_in_flight") == 0
    assert (sample("tfhook_last_success_timestamp_seconds") or 0) > 0
    conn = query.connect(tmp_path)
    try:
        failed, done = query.run(conn, 1), query.run(conn, 2)
    finally:
        conn.close()
    assert failed is not None and done is not None
    assert (failed["outcome"], failed["error"], failed["triggers"]) == (
        "failed", "lock held by x", ["event", "retry"])
    assert (done["outcome"], done["drifted"]) == ("done", ["terraform_data.elb (update)"])
    assert [(e["event"], e["log_level"]) for e in logs] == [("run failed", "error"),
                                                           ("run done", "info")]
