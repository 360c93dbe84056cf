"""The history row of a call, made from its event (observe.history_sink.call_row)."""

from __future__ import annotations

from tfhook.core.model import Event, GoJson, Phase, ResourceIds
from tfhook.observe.history_sink import call_row


def test_a_call_row_takes_the_event_s_source_resource_and_job_as_they_are() -> None:
    event = Event(phase=Phase.PRE_HANDLE, source="grafana", resource_name="elb-1",
                  scaling_job_id="job-7", instruction=1, result=0, resource_ids=ResourceIds(),
                  request_json=GoJson(b"{}"), resource_type="elb", received_at=1000.0)
    row = call_row(event, ("web",), keep=False)
    assert (row.time, row.phase, row.source, row.resource_type, row.resource_name,
            row.scaling_job_id, row.result, row.instruction, row.routes, row.request) == (
        1000.0, "pre-handle", "grafana", "elb", "elb-1", "job-7", "", "CREATE", ("web",), None)
