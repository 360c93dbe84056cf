"""Prometheus metrics: a sink that counts calls and times them, and the exporter endpoint."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from tfhook.errors import UserError
from tfhook.model import Action, Outcome, Update


class MetricsSink:
    """Counts calls by phase and outcome; times the ones that ran something."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.calls = Counter(
            "tfhook_calls", "Calls by phase, route and outcome", ["phase", "route", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "tfhook_call_duration_seconds", "Duration of routes that ran", ["phase", "route"],
            registry=self.registry,
        )

    def started(self, action: Action) -> None:
        return None

    def update(self, action: Action, update: Update) -> None:
        return None

    def finished(self, outcome: Outcome) -> None:
        phase = "background" if outcome.event.background else outcome.event.phase.value
        route = outcome.action.hook or ""
        if outcome.action.hook is None:
            label = "skipped"
        elif outcome.error is not None:
            label = "error"
        else:
            label = outcome.final.name.lower() if outcome.final else "empty"
        self.calls.labels(phase=phase, route=route, outcome=label).inc()
        if outcome.action.hook is not None:
            self.duration.labels(phase=phase, route=route).observe(outcome.duration)


def serve_exporter(address: str, sink: MetricsSink) -> None:
    """Serve /metrics at an address like `:8081` or `127.0.0.1:9100`."""
    host, _, port = address.rpartition(":")
    try:
        start_http_server(int(port), addr=host or "0.0.0.0", registry=sink.registry)
    except (ValueError, OSError) as exc:
        raise UserError(f"exporter_config.address {address!r}: {exc}") from None
