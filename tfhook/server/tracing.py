"""Tracing with OpenTelemetry (#23), when the standard OTEL_* variables ask for it.

Off unless an OTLP endpoint is set: then nothing is imported and no call does any work for
it. Set without the `otel` extra: one warning line, no tracing. The exporter (OTLP over
HTTP or gRPC) reads the rest of the standard variables itself (headers, timeout,
certificates, OTEL_BSP_* for its batching).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import structlog

from tfhook import __version__
from tfhook.core.observer import Observer
from tfhook.errors import ActionFailed, ActionTimeout, LockHeld, RequestError
from tfhook.observe import logs
from tfhook.process import seam
from tfhook.server import wire

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = structlog.get_logger("tfhook.server")
ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
INSTALL = "pip install 'tfhook[otel]'"


def wanted(env: Mapping[str, str]) -> bool:
    """Whether `env` asks for traces: an OTLP endpoint, and neither the SDK disabled nor
    OTEL_TRACES_EXPORTER=none."""
    return (any(env.get(name) for name in ENDPOINTS)
            and env.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"
            and env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() != "none")


def observers(env: Mapping[str, str], service: str) -> list[Observer]:
    """The tracing observer when `env` asks for traces (and every child traced from now
    on), else none.

    Args:
        env: the server's environment (config.env).
        service: the gRPC service's full name (the call spans' `rpc.service`).

    Returns:
        [the Tracer], or [] when tracing is off or cannot be set up (said in one line).
    """
    if not wanted(env):
        return []
    protocol = next((env[name] for name in PROTOCOLS if env.get(name)), "http/protobuf")
    try:
        exporter = _exporter(protocol.strip().lower())
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from tfhook.observe.traces import Tracer
    except ImportError as exc:
        log.warning("tracing is configured but OpenTelemetry is not installed: no traces",
                    install=INSTALL, missing=exc.name)
        return []
    except ValueError as exc:
        log.warning("tracing is configured but cannot start: no traces", problem=str(exc))
        return []
    # Exported off the call's path: the batch processor's thread (OTEL_BSP_* variables).
    provider = TracerProvider(resource=Resource.create({
        "service.name": env.get("OTEL_SERVICE_NAME") or "tfhook", "service.version": __version__}))
    # The SDK's own lines (an endpoint that does not answer) as tfhook's, once per streak.
    told = logs.Library("tfhook.tracing", "tracing export failed")
    told.take("opentelemetry")
    provider.add_span_processor(BatchSpanProcessor(_watched(exporter, told.ended)))
    tracer = Tracer(provider.get_tracer("tfhook", __version__), service, env, _codes())
    seam.watch(tracer.child)
    log.info("tracing", protocol=protocol, service=env.get("OTEL_SERVICE_NAME") or "tfhook")
    return [tracer]


def _exporter(protocol: str) -> SpanExporter:
    """The OTLP span exporter for `protocol` (grpc or http/protobuf), configured by the
    standard variables."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
            OTLPSpanExporter,
        )
    else:
        raise ValueError(f"tfhook exports over grpc or http/protobuf, not {protocol!r} "
                         f"({'/'.join(PROTOCOLS)})")
    return OTLPSpanExporter()


def _codes() -> dict[str, int]:
    """The gRPC status code of each error kind that fails a call (wire's one table)."""
    return {cls.__name__: wire.status_for(cls("")).value[0]
            for cls in (ActionTimeout, LockHeld, ActionFailed, RequestError)}


def _watched(exporter: SpanExporter, ended: Callable[[], None]) -> SpanExporter:
    """`exporter`, calling `ended` after each export that succeeds (a failure streak ends)."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Watched(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            result = exporter.export(spans)
            if result is SpanExportResult.SUCCESS:
                ended()
            return result

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return exporter.force_flush(timeout_millis)

    return Watched()
