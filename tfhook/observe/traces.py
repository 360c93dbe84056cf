"""Traces (#23): a span per call, its routing and each route, per Terraform run, per child.

Imported only when tracing is configured (tfhook.server.tracing builds the exporter): this
module imports OpenTelemetry's API. `Tracer` is an Observer for the call, route and run
spans, and the process layer's watcher (tfhook.process.seam) for a span per child, whose
context the child gets as TRACEPARENT/TRACESTATE. No request body, argument or error text
goes into a span: only names, kinds, counts and codes (requests carry secrets).

Parents: a call's span is the root of a trace; its routing and routes are its children; a
run is a child of the route whose call started it, whatever starts a run by itself (a
background run, the run that queued calls share) is the root of its own trace, and a route
served by a run of another trace links to it; a child is a child of whatever span is current
where it starts (the route that runs a hook, the run that runs Terraform).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Mapping, Sequence
from typing import Protocol

from opentelemetry import context as otel
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tfhook.core.model import Action, Event, Outcome
from tfhook.core.observer import Call, CallEnd, Observer, Run, trigger_kinds

_PROPAGATOR = TraceContextTextMapPropagator()
# How calls, routes and runs end without their answer (core.model.outcome_name).
FAILED = frozenset({"failed", "timeout", "cancelled", "held"})
CANCELLED = 1  # gRPC's CANCELLED: the caller went away (or the server stopped)
UNKNOWN = 2  # gRPC's UNKNOWN: what a failure answers unless `codes` names its kind


class ChildSpec(Protocol):
    """What the tracer reads of a child's spec (tfhook.process.spec.Spec): never its
    arguments, environment or input."""

    @property
    def argv(self) -> Sequence[str]: ...

    @property
    def command(self) -> str: ...


class Tracer(Observer):
    """Spans of calls, routes, runs and children, made with `tracer`."""

    def __init__(self, tracer: trace.Tracer, service: str, env: Mapping[str, str],
                 codes: Mapping[str, int]) -> None:
        """`service`: the gRPC service's full name; `env`: what a child inherits when its
        spec says nothing; `codes`: the gRPC status code of each error kind."""
        self._tracer = tracer
        self._service = service
        self._env = dict(env)
        self._codes = codes
        self._calls: dict[int, _Traced] = {}  # by id(call.event): its route spans find it
        self._routes: dict[int, tuple[Span, otel.Context, _Traced | None]] = {}  # id(action)
        self._runs: dict[int, Span] = {}  # by id(run)
        # The span of the run each flight task runs, for the routes it served (links).
        self._served: weakref.WeakKeyDictionary[asyncio.Task[object], SpanContext] = (
            weakref.WeakKeyDictionary())

    async def call_start(self, call: Call) -> None:
        method = call.event.phase.rpc
        span = self._tracer.start_span(
            f"{self._service}/{method}", context=otel.Context(), kind=SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": self._service,
                        "rpc.method": method, **_event_fields(call.event)})
        self._tracer.start_span("routing", context=trace.set_span_in_context(span), attributes={
            "tfhook.routes": list(call.routes), "tfhook.routes.count": len(call.routes)}).end()
        self._calls[id(call.event)] = _Traced(span)

    async def call_end(self, call: Call, end: CallEnd) -> None:
        traced = self._calls.pop(id(call.event), None)
        if traced is None:
            return
        code = 0
        if end.outcome in FAILED:
            code = CANCELLED if end.outcome == "cancelled" else self._codes.get(
                traced.error_kind or "", UNKNOWN)
            traced.span.set_status(StatusCode.ERROR, end.outcome)
        traced.span.set_attributes({"rpc.grpc.status_code": code, "tfhook.outcome": end.outcome,
                                    "tfhook.decision": end.decision,
                                    **({} if end.run_id is None else {"tfhook.run": end.run_id})})
        traced.span.end()

    def route_start(self, action: Action) -> None:
        event = action.trigger if isinstance(action.trigger, Event) else None
        traced = None if event is None else self._calls.get(id(event))
        parent = otel.Context() if traced is None else trace.set_span_in_context(traced.span)
        span = self._tracer.start_span(
            f"route {action.hook or '(none)'}", context=parent,
            attributes={"tfhook.route": action.hook or "",
                        "tfhook.trigger": trigger_kinds([action.trigger])[0]})
        # The route's span is current where it runs: its children and the run it starts.
        self._routes[id(action)] = (span, otel.get_current(), traced)
        otel.attach(trace.set_span_in_context(span))

    def route_end(self, outcome: Outcome) -> None:
        found = self._routes.pop(id(outcome.action), None)
        if found is None:
            return
        span, before, traced = found
        mine = span.get_span_context().trace_id
        for batch in outcome.action.served:  # a run of another trace served it: a link
            task = getattr(batch, "task", None)  # None: a queued run that never started
            served = None if task is None else self._served.get(task)
            if served is not None and served.trace_id != mine:
                span.add_link(served, {"tfhook.link": "served by"})
        if outcome.error_kind is not None:
            span.set_status(StatusCode.ERROR, outcome.error_kind)
            span.set_attribute("tfhook.error", outcome.error_kind)
            if traced is not None and traced.error_kind is None:
                traced.error_kind = outcome.error_kind
        span.end()
        otel.attach(before)

    async def run_start(self, run: Run) -> None:
        # The current span is the route whose call started this flight's task, or none: a
        # run started by the one before it (queued calls) or by the server is a trace.
        span = self._tracer.start_span("terraform run", attributes={
            "tfhook.route": run.route, "tfhook.directory": run.directory,
            "tfhook.triggers": list(run.triggers)})
        self._runs[id(run)] = span
        task = asyncio.current_task()
        if task is not None:
            self._served[task] = span.get_span_context()
        otel.attach(trace.set_span_in_context(span))

    def run_end(self, run: Run) -> None:
        span = self._runs.pop(id(run), None)
        if span is None:
            return
        span.set_attributes({"tfhook.outcome": run.outcome, "tfhook.events": run.events,
                             "tfhook.refreshed": len(run.refreshed),
                             "tfhook.drifted": len(run.drifted),
                             **({} if run.id is None else {"tfhook.run": run.id})})
        if run.outcome in FAILED:
            span.set_status(StatusCode.ERROR, run.outcome)
        span.end()
        otel.attach(otel.Context())  # the next run this task starts is a trace of its own

    def child(self, spec: ChildSpec) -> ChildSpan | None:
        """The process layer's watcher: a span for a child started under a span."""
        parent = trace.get_current_span()
        if not parent.get_span_context().is_valid:
            return None  # start-up checks, `routes check`: no call, route or run to be part of
        program = os.path.basename(spec.argv[0]) if spec.argv else ""
        span = self._tracer.start_span(spec.command or program, attributes={
            "process.executable.name": program})
        return ChildSpan(span, self._env)


class _Traced:
    """A call's span, and the kind of its first failed route (its gRPC status)."""

    __slots__ = ("error_kind", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.error_kind: str | None = None


class ChildSpan:
    """One child's span (a tfhook.process.seam.Watch)."""

    def __init__(self, span: Span, inherited: Mapping[str, str]) -> None:
        self.span = span
        self._inherited = inherited

    def environment(self, env: Mapping[str, str] | None) -> Mapping[str, str]:
        """`env` (None: ours) with this span as TRACEPARENT, and its TRACESTATE."""
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(self.span))
        found = {key: value for key, value in (self._inherited if env is None else env).items()
                 if key not in ("TRACEPARENT", "TRACESTATE")}
        found["TRACEPARENT"] = carrier["traceparent"]
        if carrier.get("tracestate"):
            found["TRACESTATE"] = carrier["tracestate"]
        return found

    def ended(self, returncode: int | None) -> None:
        """The child was reaped with `returncode`, or did not start (None)."""
        if returncode is None:
            self.span.set_status(StatusCode.ERROR, "did not start")
        else:
            self.span.set_attribute("process.exit.code", returncode)
            if returncode != 0:
                self.span.set_status(StatusCode.ERROR, f"exit status {returncode}")
        self.span.end()


def _event_fields(event: Event) -> dict[str, str]:
    """What a call's span says of its request: the fields logs show (no body, no secret)."""
    return {f"tfhook.{key}": str(value) for key, value in event.describe().items()}
