"""Prometheus metrics: a sink that counts calls and times them, and the exporter endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from tfhook.errors import UserError
from tfhook.model import Action, Outcome, Update

# Every metric tfhook exports, as Prometheus names it (counters end in _total), with its
# type and labels. The dashboards and alert rules in examples/ may only query these
# (a test checks), so renaming one here shows every query that must follow.
# trigger: event, start, reconcile, retry. route: the route's name (the mode today).
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tfhook_calls_total": ("counter", ("phase", "route", "outcome")),
    "tfhook_call_duration_seconds": ("histogram", ("phase", "route")),
    "tfhook_calls_in_flight": ("gauge", ("phase",)),
    "tfhook_runs_total": ("counter", ("route", "trigger", "outcome")),
    "tfhook_run_duration_seconds": ("histogram", ("route", "trigger")),
    "tfhook_runs_in_flight": ("gauge", ("route",)),
    "tfhook_events_coalesced_total": ("counter", ("route",)),
    "tfhook_lock_waits_total": ("counter", ("route",)),
    "tfhook_lock_failures_total": ("counter", ("route",)),
    "tfhook_resources_refreshed_total": ("counter", ("route",)),
    "tfhook_resources_drifted_total": ("counter", ("route",)),
    "tfhook_outputs_changed_total": ("counter", ("route",)),
    "tfhook_last_success_timestamp_seconds": ("gauge", ("route",)),
    "tfhook_retry_pending": ("gauge", ("route",)),
    "tfhook_history_write_failures_total": ("counter", ()),
    "tfhook_revert_warnings_total": ("counter", ("route",)),
}
# Call and run durations: from a quick hook to a 30-minute Terraform refresh.
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800)


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
            registry=self.registry, buckets=DURATION_BUCKETS,
        )
        self.reverts = Counter(
            "tfhook_revert_warnings", "Changes the next terraform apply would make back, as "
            "reported in a refresh's DONE (per call answered)", ["route"],
            registry=self.registry,
        )

    def started(self, action: Action) -> None:
        return None

    def update(self, action: Action, update: Update) -> None:
        if update.reverts:
            self.reverts.labels(route=action.hook or "").inc(update.reverts)

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


class _Count(Collector):
    """A counter read when scraped (a number another part of tfhook keeps)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self._family = (name, documentation)
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(*self._family, value=self._read())


def count_history_failures(sink: MetricsSink, read: Callable[[], int]) -> None:
    """Export how many history writes failed (`read` returns the count)."""
    sink.registry.register(_Count("tfhook_history_write_failures",
                                  "History writes that failed (calls are answered as usual)", read))


def serve_exporter(address: str, sink: MetricsSink) -> None:
    """Serve /metrics at an address like `:8081` or `127.0.0.1:9100`."""
    host, _, port = address.rpartition(":")
    try:
        start_http_server(int(port), addr=host or "0.0.0.0", registry=sink.registry)
    except (ValueError, OSError) as exc:
        raise UserError(f"exporter_config.address {address!r}: {exc}") from None
