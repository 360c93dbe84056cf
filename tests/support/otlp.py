"""An OTLP/HTTP receiver for the tracing tests: a real HTTP server that decodes each
ExportTraceServiceRequest (opentelemetry-proto) into plain `Span` records."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from support.servers import HANG_GUARD


@dataclass(frozen=True)
class Span:
    """One span as received: ids in hex, as a TRACEPARENT spells them."""

    name: str
    trace_id: str
    span_id: str
    parent: str  # "" for a root
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind
    start: int  # nanoseconds since the epoch
    attributes: dict[str, Any]
    links: tuple[str, ...]  # the span ids it links to
    status: int  # 0 unset, 1 ok, 2 error
    service: str  # the resource's service.name


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(item) for item in value.array_value.values)
    return getattr(value, kind) if kind else None


def decode(body: bytes) -> list[Span]:
    """The spans of one export request."""
    request = ExportTraceServiceRequest.FromString(body)
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                found.append(Span(
                    span.name, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                    span.kind, span.start_time_unix_nano,
                    {a.key: _value(a.value) for a in span.attributes},
                    tuple(link.span_id.hex() for link in span.links), span.status.code,
                    resource.get("service.name", "")))
    return found


class Receiver:
    """`http://127.0.0.1:PORT`, the OTEL_EXPORTER_OTLP_ENDPOINT; `spans` as they arrive."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.bodies.append(body)
                    receiver.spans += decode(body) if self.path == "/v1/traces" else []
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def env(self) -> dict[str, str]:
        """The variables that send a server's spans here, soon after they end."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50",
                "OTEL_SERVICE_NAME": "tfhook-test"}

    def wait(self, found: Callable[[list[Span]], bool], timeout: float = HANG_GUARD) -> list[Span]:
        """The spans received, once `found` says they are all there (a hang guard)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = list(self.spans)
            if found(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"spans never arrived: {[s.name for s in spans]}")
            time.sleep(0.05)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
