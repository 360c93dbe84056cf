"""Prometheus metrics: a sink that counts calls and times them, and the exporter endpoint."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from tfhook import __version__
from tfhook.core.hooks import Hook
from tfhook.core.model import Action, Event, Outcome, Update, outcome_name
from tfhook.core.observer import Call, CallEnd, Decision, Observer, Run
from tfhook.errors import UserError

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
    "tfhook_drift_total": ("counter", ("route", "explained")),
    "tfhook_outputs_changed_total": ("counter", ("route",)),
    "tfhook_last_success_timestamp_seconds": ("gauge", ("route",)),
    "tfhook_retry_pending": ("gauge", ("route",)),
    "tfhook_history_write_failures_total": ("counter", ()),
    "tfhook_revert_warnings_total": ("counter", ("route",)),
    "tfhook_decisions_total": ("counter", ("action", "outcome")),
    "tfhook_held_runs": ("gauge", ()),
    "tfhook_history_late_rows_total": ("counter", ()),
    "tfhook_build_info": ("gauge", ("version", "python", "grpcio", "terraform")),
    "tfhook_notifications_total": ("counter", ("outcome",)),
}
# Exported beside METRICS by prometheus_client's process collector: the alert on runs that
# never succeed measures from process_start_time_seconds (#24).
PROCESS_METRICS = ("process_start_time_seconds", "process_cpu_seconds_total",
                   "process_virtual_memory_bytes", "process_resident_memory_bytes",
                   "process_open_fds", "process_max_fds")
HISTORY_FAILURES = "tfhook_history_write_failures_total"
HELD_RUNS = "tfhook_held_runs"  # read when scraped (count_held)
HISTORY_LATE = "tfhook_history_late_rows_total"
# Exported by a collector that reads them when scraped (count_history_failures, count_held),
# never also made eagerly: a name exported twice fails `promtool check metrics`.
_READ_WHEN_SCRAPED = (HISTORY_FAILURES, HELD_RUNS, HISTORY_LATE)
_HELP = {
    "tfhook_calls_total": "Calls by phase, route and outcome (one per route that a call ran)",
    "tfhook_call_duration_seconds": "Duration of the routes that ran for calls",
    "tfhook_calls_in_flight": "Calls being answered now",
    "tfhook_runs_total": "Terraform runs by route, trigger and outcome",
    "tfhook_run_duration_seconds": "Duration of Terraform runs",
    "tfhook_runs_in_flight": "Terraform runs going on now",
    "tfhook_events_coalesced_total": "Events served by a run another event asked for",
    "tfhook_lock_waits_total": "Calls that waited for the run in progress on their directory",
    "tfhook_lock_failures_total": "Runs that failed because the state lock was held",
    "tfhook_resources_refreshed_total": "Resources refreshed by runs",
    "tfhook_resources_drifted_total": "Resources found drifted by runs",
    "tfhook_drift_total": "Drifted resources, by whether an event of the run explains them "
                          "(yes, no)",
    "tfhook_outputs_changed_total": "Outputs changed by runs",
    "tfhook_last_success_timestamp_seconds": "When a run last succeeded (Unix time)",
    "tfhook_retry_pending": "1 while a background retry after a failed run is pending",
    "tfhook_revert_warnings_total": "Changes the next terraform apply would make back, as "
                                    "reported in a refresh's DONE (per call answered)",
    "tfhook_decisions_total": "Operators' decisions (approve, deny, rollback) by outcome "
                              "(done, refused, failed, cancelled)",
    HELD_RUNS: "Held runs waiting for an operator to approve or deny them",
    HISTORY_LATE: "Calls whose hook started before their history row was written (200 ms)",
    "tfhook_build_info": "1, labelled with the versions of tfhook, Python, grpcio and the "
                         "Terraform its routes run (\"\" without a Terraform route)",
    "tfhook_notifications_total": "Notifications by outcome: sent, failed (per URL), dropped "
                                  "(the queue was full)",
}
# Call and run durations: from a quick hook to a 30-minute Terraform refresh.
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800)


class MetricsSink(Observer):
    """Every metric in METRICS: calls (per route), runs and retries."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_start_time_seconds and kin
        made = {name: _make(name, kind, labels, self.registry)
                for name, (kind, labels) in METRICS.items()
                if name not in _READ_WHEN_SCRAPED}
        self.calls, self.duration = made["tfhook_calls_total"], made["tfhook_call_duration_seconds"]
        self.calls_in_flight = made["tfhook_calls_in_flight"]
        self.runs, self.run_duration = made["tfhook_runs_total"], made["tfhook_run_duration_seconds"]
        self.runs_in_flight = made["tfhook_runs_in_flight"]
        self.coalesced = made["tfhook_events_coalesced_total"]
        self.lock_waits = made["tfhook_lock_waits_total"]
        self.lock_failures = made["tfhook_lock_failures_total"]
        self.refreshed = made["tfhook_resources_refreshed_total"]
        self.drifted = made["tfhook_resources_drifted_total"]
        self.drift = made["tfhook_drift_total"]
        self.outputs_changed = made["tfhook_outputs_changed_total"]
        self.last_success = made["tfhook_last_success_timestamp_seconds"]
        self.pending = made["tfhook_retry_pending"]
        self.reverts = made["tfhook_revert_warnings_total"]
        self.decisions = made["tfhook_decisions_total"]
        self.build = made["tfhook_build_info"]
        self.notifications = made["tfhook_notifications_total"]

    async def call_start(self, call: Call) -> None:
        self.calls_in_flight.labels(phase=call.event.phase.value).inc()

    async def call_end(self, call: Call, end: CallEnd) -> None:
        self.calls_in_flight.labels(phase=call.event.phase.value).dec()

    def route_update(self, action: Action, update: Update) -> None:
        if update.queued and action.hook is not None:
            # Queued behind the run in progress on its directory: it waits for that run.
            self.lock_waits.labels(route=action.hook).inc()
        if update.reverts and action.hook is not None:
            self.reverts.labels(route=action.hook).inc(update.reverts)

    def route_end(self, outcome: Outcome) -> None:
        trigger = outcome.action.trigger
        if not isinstance(trigger, Event):
            return  # a background run, counted as a run (run_end)
        phase = trigger.phase.value
        route = outcome.action.hook or ""
        if outcome.action.hook is None:
            label = "ignored"  # answered IGNORED, or nothing at all (the reference's way)
        else:
            label = outcome_name(outcome.final, outcome.error_kind if outcome.error else None)
        self.calls.labels(phase=phase, route=route, outcome=label).inc()
        if outcome.action.hook is not None:
            self.duration.labels(phase=phase, route=route).observe(outcome.duration)

    async def run_start(self, run: Run) -> None:
        self.runs_in_flight.labels(route=run.route).inc()

    def run_end(self, run: Run) -> None:
        """Count one run: its outcome, duration, what it found, and the events it shared."""
        route = run.route
        self.runs_in_flight.labels(route=route).dec()
        self.runs.labels(route=route, trigger=run.trigger, outcome=run.outcome).inc()
        self.run_duration.labels(route=route, trigger=run.trigger).observe(run.duration)
        self.coalesced.labels(route=route).inc(max(run.events - 1, 0))
        self.lock_failures.labels(route=route).inc(int(run.lock_failed))
        self.refreshed.labels(route=route).inc(len(run.refreshed))
        self.drifted.labels(route=route).inc(len(run.drifted))
        self.drift.labels(route=route, explained="yes").inc(len(run.drifted) - run.unexplained)
        self.drift.labels(route=route, explained="no").inc(run.unexplained)
        self.outputs_changed.labels(route=route).inc(len(run.outputs_changed))
        if run.outcome == "done":
            self.last_success.labels(route=route).set_to_current_time()

    def retry_pending(self, route: str, pending: bool) -> None:
        self.pending.labels(route=route).set(int(pending))

    def decided(self, decision: Decision) -> None:
        self.decisions.labels(action=decision.action, outcome=decision.outcome).inc()

    def know(self, hooks: Iterable[Hook], phases: Iterable[str]) -> None:
        """Show every per-route series at zero from the start, so that alerts see them: the
        calls' for every route, the runs' for Terraform routes only (an executable route has
        no runs, and a series for them would only be noise)."""
        phases = tuple(phases)
        for hook in hooks:
            # Failures from zero too: increase() reads a series born at 1 as no change, so
            # the first failure would pass the alerts by.
            for phase in phases:
                self.calls.labels(phase=phase, route=hook.name, outcome="failed")
            if hook.kind == "terraform":
                self._know_runs(hook.name)
        for phase in phases:
            self.calls_in_flight.labels(phase=phase)

    def _know_runs(self, route: str) -> None:
        for gauge in (self.runs_in_flight, self.pending, self.last_success):
            gauge.labels(route=route)  # last success 0: none yet (the alert measures from start)
        for counter in (self.coalesced, self.lock_waits, self.lock_failures,
                        self.refreshed, self.drifted, self.outputs_changed, self.reverts):
            counter.labels(route=route)
        for explained in ("yes", "no"):
            self.drift.labels(route=route, explained=explained)
        for trigger in ("event", "start", "reconcile", "retry"):
            self.runs.labels(route=route, trigger=trigger, outcome="failed")

    def built(self, terraform: str) -> None:
        """Set tfhook_build_info: tfhook's, Python's and grpcio's versions, and `terraform`."""
        self.build.labels(version=__version__, python=platform.python_version(),
                          grpcio=grpc_version(), terraform=terraform).set(1)

def grpc_version() -> str:
    """The installed grpcio's version (metadata: importing grpc is not this layer's job)."""
    try:
        return metadata.version("grpcio")
    except metadata.PackageNotFoundError:
        return ""


def _make(name: str, kind: str, labels: tuple[str, ...], registry: CollectorRegistry) -> Any:
    text = _HELP[name]
    if kind == "counter":
        return Counter(name.removesuffix("_total"), text, labels, registry=registry)
    if kind == "histogram":
        return Histogram(name, text, labels, registry=registry, buckets=DURATION_BUCKETS)
    return Gauge(name, text, labels, registry=registry)


class _Count(Collector):
    """A counter (or gauge) read when scraped (a number another part of tfhook keeps)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int],
                 family: type[CounterMetricFamily | GaugeMetricFamily] = CounterMetricFamily
                 ) -> None:
        self._family = (name, documentation)
        self._read = read
        self._kind = family

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield self._kind(*self._family, value=self._read())


def count_history_failures(sink: MetricsSink, read: Callable[[], int],
                           late: Callable[[], int] = lambda: 0) -> None:
    """Export how many history writes failed, and how many rows came after their hook
    started (`read` and `late` return the counts)."""
    sink.registry.register(_Count(HISTORY_FAILURES.removesuffix("_total"),
                                  "History writes that failed (calls are answered as usual)", read))
    sink.registry.register(_Count(HISTORY_LATE.removesuffix("_total"), _HELP[HISTORY_LATE], late))


def count_held(sink: MetricsSink, read: Callable[[], int]) -> None:
    """Export how many held runs wait for a decision (`read` returns the count; it is
    called on the exporter's thread, when scraped)."""
    sink.registry.register(_Count(HELD_RUNS, _HELP[HELD_RUNS], read, GaugeMetricFamily))


def serve_exporter(address: str, sink: MetricsSink) -> None:
    """Serve /metrics at an address like `:8081` or `127.0.0.1:9100`."""
    host, _, port = address.rpartition(":")
    try:
        start_http_server(int(port), addr=host or "0.0.0.0", registry=sink.registry)
    except (ValueError, OSError) as exc:
        raise UserError(f"exporter_config.address {address!r}: {exc}") from None
    structlog.get_logger("tfhook.metrics").info(
        "metrics exporter listening", address=f"http://{host or '0.0.0.0'}:{port}/metrics")
