"""Traces (#23) with the SDK's in-memory exporter: real pipelines, real hooks, real Terraform
(the embedded engine, a module of outputs only), the spans' tree, links and attributes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from structlog.testing import capture_logs
from support.servers import HANG_GUARD, write_script

from tfhook.config.settings import Settings
from tfhook.core.hooks import AFTER_CHANGE, ExecutableAction, Hook, TerraformAction
from tfhook.core.model import Event, GoJson, Phase, ResourceIds, Result, Status
from tfhook.core.observer import Observers
from tfhook.core.pipeline import Pipeline
from tfhook.errors import ActionFailed
from tfhook.observe.traces import Tracer
from tfhook.process import seam
from tfhook.runners import RunnerContext, open_table

SERVICE = "autoscaler.HandleService"
SECRET = "Secret-Pw-77"
REQUEST = b'{"current":{"Resource":{"ServerGroupInstance":{"edit_parameter":{"password":"%s"}}}}}' % (
    SECRET.encode())
# The hook prints what it was given to continue the trace, then fails when asked to.
HOOK = 'cat > /dev/null\necho "parent=$TRACEPARENT"\nexit "${HOOK_EXIT:-0}"\n'


@pytest.fixture
def spans() -> Iterator[tuple[Tracer, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = Tracer(provider.get_tracer("test"), SERVICE, {"PATH": "/usr/bin:/bin"},
                    {"ActionFailed": 2, "LockHeld": 10})
    before = seam.watch(tracer.child)
    yield tracer, exporter
    seam.watch(before)


def event(phase: Phase = Phase.HANDLE, result: int = 0) -> Event:
    return Event(phase=phase, source="s", resource_name="web", scaling_job_id="job-9",
                 instruction=0, result=result, resource_ids=ResourceIds(),
                 request_json=GoJson(REQUEST))


async def served(hooks: tuple[Hook, ...], tracer: Tracer, **env: str
                 ) -> tuple[Pipeline, RunnerContext]:
    settings = Settings(hooks=hooks, env={**Settings().env, **env})
    context = RunnerContext(settings, Observers([tracer]))
    return Pipeline(await open_table(context, hooks), context.observer), context


def by_name(finished: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in finished}


def parent_of(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def no_secret_in(finished: tuple[ReadableSpan, ...]) -> None:
    for span in finished:
        assert SECRET not in repr(dict(span.attributes or {})), span.name
        assert "password" not in repr(dict(span.attributes or {})), span.name


def test_a_hook_call_is_a_tree_and_the_hook_continues_it(tmp_path: Path, spans) -> None:
    tracer, exporter = spans
    script = write_script(tmp_path / "hook.sh", HOOK)
    hook = Hook("web", ExecutableAction(script))

    async def scenario() -> list[str]:
        pipeline, _ = await served((hook,), tracer)
        return [update.log async for update in pipeline.handle(event())]

    [log] = asyncio.run(scenario())
    finished = exporter.get_finished_spans()
    assert [span.name for span in finished] == [  # in the order they ended
        "routing", "hook.sh", "route web", f"{SERVICE}/Handle"]
    spans_ = by_name(finished)
    call, routing, route, child = (spans_[f"{SERVICE}/Handle"], spans_["routing"],
                                   spans_["route web"], spans_["hook.sh"])
    assert call.kind is SpanKind.SERVER and call.parent is None
    assert {key: call.attributes[key] for key in ("rpc.system", "rpc.service", "rpc.method",
                                                  "rpc.grpc.status_code")} == {
        "rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": "Handle",
        "rpc.grpc.status_code": 0}
    assert len({s.context.trace_id for s in finished}) == 1
    assert (parent_of(routing), parent_of(route), parent_of(child)) == (
        call.context.span_id, call.context.span_id, route.context.span_id)
    assert routing.attributes["tfhook.routes"] == ("web",)
    assert dict(child.attributes) == {"process.executable.name": "hook.sh", "process.exit.code": 0}
    # The hook's TRACEPARENT is its own process's span: what it starts is a child of it.
    ids = child.context
    assert log.strip() == f"parent=00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"
    no_secret_in(finished)


def test_a_failed_hook_fails_its_spans_with_the_calls_status(tmp_path: Path, spans) -> None:
    tracer, exporter = spans
    script = write_script(tmp_path / "hook.sh", HOOK)
    hook = Hook("web", ExecutableAction(script))

    async def scenario() -> None:
        pipeline, _ = await served((hook,), tracer, HOOK_EXIT="3")
        with pytest.raises(ActionFailed):
            async for _ in pipeline.handle(event()):
                pass

    asyncio.run(scenario())
    spans_ = by_name(exporter.get_finished_spans())
    child, route, call = spans_["hook.sh"], spans_["route web"], spans_[f"{SERVICE}/Handle"]
    assert child.attributes["process.exit.code"] == 3
    assert child.status.status_code is StatusCode.ERROR
    assert (route.status.status_code, route.attributes["tfhook.error"]) == (
        StatusCode.ERROR, "ActionFailed")
    assert (call.attributes["rpc.grpc.status_code"], call.attributes["tfhook.outcome"]) == (2, "failed")
    no_secret_in(exporter.get_finished_spans())


def outputs_module(where: Path) -> Path:
    where.mkdir()
    (where / "main.tf").write_text('output "answer" {\n  value = 42\n}\n')
    return where


def test_a_background_run_is_its_own_trace_with_its_engine_commands(tmp_path: Path, spans) -> None:
    tracer, exporter = spans
    hook = Hook("state", TerraformAction(dir=outputs_module(tmp_path / "tf"), engine="embedded",
                                         refresh_on_start=True))

    async def scenario() -> None:
        _, context = await served((hook,), tracer)
        async with asyncio.timeout(HANG_GUARD):
            while not any(s.name == "route state" for s in exporter.get_finished_spans()):
                await asyncio.sleep(0.05)
        for directory in context.directories.values():
            await directory.close()

    asyncio.run(scenario())
    finished = exporter.get_finished_spans()
    # The start-up checks (version, a plan of nothing) belong to no call or run: no span.
    route, run = by_name(finished)["route state"], by_name(finished)["terraform run"]
    assert route.parent is None and route.attributes["tfhook.trigger"] == "start"
    assert parent_of(run) == route.context.span_id
    commands = [s for s in finished if s.name.startswith("terraform ") and s is not run]
    assert [s.name for s in commands] == ["terraform plan", "terraform show", "terraform apply"]
    assert {parent_of(s) for s in commands} == {run.context.span_id}
    assert {s.attributes["process.exit.code"] for s in commands} == {0}
    assert len({s.context.trace_id for s in finished}) == 1
    assert (run.attributes["tfhook.outcome"], run.attributes["tfhook.triggers"]) == ("done", ("start",))


def test_calls_that_queue_share_a_run_of_its_own_trace_and_link_to_it(tmp_path: Path, spans) -> None:
    tracer, exporter = spans
    hook = Hook("state", TerraformAction(dir=outputs_module(tmp_path / "tf"), engine="embedded"),
                AFTER_CHANGE)

    async def call(pipeline: Pipeline) -> list[Status]:
        return [u.status async for u in pipeline.handle(event(Phase.POST_HANDLE, Result.UPDATED))]

    async def scenario() -> list[list[Status]]:
        pipeline, context = await served((hook,), tracer)
        first = asyncio.ensure_future(call(pipeline))
        [directory] = context.directories.values()
        async with asyncio.timeout(HANG_GUARD):
            while not directory.flight.busy:
                await asyncio.sleep(0.01)
        answers = await asyncio.gather(first, call(pipeline), call(pipeline))
        await directory.close()
        return answers

    answers = asyncio.run(scenario())
    assert [Status.ACCEPTED in statuses for statuses in answers] == [False, True, True]
    finished = exporter.get_finished_spans()
    first_run, second_run = [s for s in finished if s.name == "terraform run"]
    routes = [s for s in finished if s.name == "route state"]
    calls = [s for s in finished if s.kind is SpanKind.SERVER]
    assert len(routes) == len(calls) == 3
    starter = next(r for r in routes if r.context.span_id == parent_of(first_run))
    assert starter.context.trace_id == first_run.context.trace_id and not starter.links
    assert second_run.parent is None  # started by the flight once the first run ended
    queued = [r for r in routes if r is not starter]
    assert [[link.context.span_id for link in r.links] for r in queued] == [
        [second_run.context.span_id]] * 2
    assert second_run.attributes["tfhook.events"] == 2


def test_a_call_that_goes_away_while_queued_still_ends_its_spans(tmp_path: Path, spans) -> None:
    tracer, exporter = spans
    hook = Hook("state", TerraformAction(dir=outputs_module(tmp_path / "tf"), engine="embedded"),
                AFTER_CHANGE)

    async def scenario() -> None:
        pipeline, context = await served((hook,), tracer)
        [directory] = context.directories.values()
        first = asyncio.ensure_future(
            pipeline.handle(event(Phase.POST_HANDLE, Result.UPDATED)).__anext__())
        async with asyncio.timeout(HANG_GUARD):
            while not directory.flight.busy:
                await asyncio.sleep(0.01)
        queued = pipeline.handle(event(Phase.POST_HANDLE, Result.UPDATED))
        assert (await queued.__anext__()).status is Status.ACCEPTED  # queued behind the run
        await queued.aclose()  # the caller goes away: its run never starts
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await directory.close()

    with capture_logs() as logs:
        asyncio.run(scenario())
    assert not [e for e in logs if e["event"] == "observer failed"]
    routes = [s for s in exporter.get_finished_spans() if s.name == "route state"]
    assert len(routes) == 2 and all(not r.links for r in routes)
