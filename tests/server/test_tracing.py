"""Traces end to end (#23): a real server exporting over OTLP/HTTP to a receiver in the test,
which decodes the spans: the tree of one Terraform event on the simulated cloud, a start-up
run in a trace of its own, a hook continuing its trace, and no OpenTelemetry: one warning."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.otlp import Receiver, Span
from support.servers import free_port, write_script
from support.simcloud import ELB_ID
from support.terraform import updated

from tfhook.v1 import handler_pb2

SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_SERVER
CALL = "autoscaler.HandleService/PostHandle"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def tree(spans: list[Span], root: Span) -> list[object]:
    """`root` and its descendants as [name, [children...]], children in the order they started."""
    children = sorted((s for s in spans if s.parent == root.span_id), key=lambda s: s.start)
    return [root.name, [tree(spans, child) for child in children]]


def has(name: str, kind: int | None = None):
    return lambda spans: any(s.name == name and kind in (None, s.kind) for s in spans)


def test_one_terraform_event_is_one_tree_and_a_start_up_run_a_trace_of_its_own(
        simcloud, tf_serve, receiver) -> None:
    server = tf_serve(simcloud.dir, "--refresh-on-start", env={**simcloud.env, **receiver.env()})
    started = receiver.wait(has("terraform run"))  # the start-up run, before any call
    simcloud.change("elb", ELB_ID, plan=400)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    spans = receiver.wait(has(CALL, SERVER_KIND))
    [start_route] = [s for s in started if s.parent == "" and s.name.startswith("route ")]
    assert start_route.attributes["tfhook.trigger"] == "start"
    route = start_route.name
    # Nothing changed yet: the start-up run plans and finds nothing to apply.
    assert tree(spans, start_route) == [route, [["terraform run", [["terraform plan", []]]]]]
    [call] = [s for s in spans if s.kind == SERVER_KIND]
    assert call.trace_id != start_route.trace_id and call.parent == ""
    # The checked refresh: plan, read the plan, the snapshot's state pull, apply exactly that
    # plan, then the plan that finds what the next apply would revert.
    assert tree(spans, call) == [CALL, [["routing", []], [route, [["terraform run", [
        ["terraform plan", []], ["terraform show", []], ["terraform state pull", []],
        ["terraform apply", []], ["terraform plan", []]]]]]]]
    assert {key: call.attributes[key] for key in (
        "rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code", "tfhook.job")} == {
        "rpc.system": "grpc", "rpc.service": "autoscaler.HandleService",
        "rpc.method": "PostHandle", "rpc.grpc.status_code": 0, "tfhook.job": "job-1"}
    engine = [s for s in spans if s.trace_id == call.trace_id and s.name.startswith("terraform ")
              and s.name != "terraform run"]
    assert {s.attributes["process.exit.code"] for s in engine} == {0}
    assert {s.service for s in spans} == {"tfhook-test"}
    # No argument (plan files, variables files) in any attribute.
    assert not [s for s in spans if any("tfplan" in str(v) or "-out" in str(v)
                                        for v in s.attributes.values())]


def test_a_hook_sees_its_own_process_span_as_its_parent(tmp_path: Path, serve, receiver) -> None:
    hook = write_script(tmp_path / "hook.sh", 'cat >/dev/null\necho "$TRACEPARENT"\n')
    server = serve("--executable-path", str(hook), "--handler-type", "handle",
                   env={**os.environ, **receiver.env()})
    [*_, done] = server.call("Handle", handler_pb2.HandleRequest(source="s", scaling_job_id="j"))
    spans = receiver.wait(has("autoscaler.HandleService/Handle", SERVER_KIND))
    [process] = [s for s in spans if s.name == "hook.sh"]
    version, trace_id, parent, _flags = done.log.strip().split("-")
    assert (version, trace_id, parent) == ("00", process.trace_id, process.span_id)
    [route] = [s for s in spans if s.span_id == process.parent]
    [call] = [s for s in spans if s.span_id == route.parent]
    assert (route.name, call.name, call.parent) == ("route executable", "autoscaler.HandleService/Handle", "")
    assert process.attributes == {"process.executable.name": "hook.sh", "process.exit.code": 0}


def test_without_opentelemetry_one_warning_and_no_traces(tmp_path: Path, serve, receiver) -> None:
    # A package of that name that fails to import stands for an install without the extra.
    shim = tmp_path / "shim" / "opentelemetry"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ImportError("not installed", name="opentelemetry")\n')
    hook = write_script(tmp_path / "hook.sh", 'cat >/dev/null\necho "${TRACEPARENT:-none}"\n')
    server = serve("--executable-path", str(hook), "--handler-type", "handle",
                   env={**os.environ, **receiver.env(), "PYTHONPATH": str(shim.parent)})
    [*_, done] = server.call("Handle", handler_pb2.HandleRequest(source="s"))
    assert done.log.strip() == "none"
    server.stop()
    warnings = [line for line in server.log().splitlines() if "tfhook[otel]" in line]
    assert len(warnings) == 1 and "level=warn" in warnings[0], server.log()
    assert receiver.bodies == []


def test_an_endpoint_that_does_not_answer_is_one_tfhook_line(tmp_path: Path, serve) -> None:
    # Nothing listens on the endpoint: each export fails (the SDK logs each failure).
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
           "OTEL_BSP_SCHEDULE_DELAY": "50", "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}
    hook = write_script(tmp_path / "hook.sh", "cat >/dev/null\necho ok\n")
    server = serve("--executable-path", str(hook), "--handler-type", "handle", env=env)
    for job in ("a", "b", "c"):
        server.call("Handle", handler_pb2.HandleRequest(source="s", scaling_job_id=job))
    server.stop()  # the last spans exported at the latest now
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert [line for line in lines if not line.startswith("time=")] == []  # logfmt, every one
    failed = [line for line in lines if "tracing export failed" in line]
    assert len(failed) == 1 and "level=warn" in failed[0], failed
