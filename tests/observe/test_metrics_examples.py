"""The example dashboard and alert rules query only metrics (and labels) tfhook declares."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from support import tools

from tfhook.observe.metrics import METRICS, PROCESS_METRICS, MetricsSink

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "examples" / "grafana" / "tfhook-dashboard.json"
RULES = ROOT / "examples" / "prometheus" / "tfhook-alerts.yml"
RULE_TESTS = RULES.with_name("tfhook-alerts.test.yml")
SERIES = {"histogram": ("_bucket", "_sum", "_count")}
TARGET_LABELS = {"instance", "job"}  # added by Prometheus to every series it scrapes
SELECTOR = re.compile(r"\b(tfhook_[a-z0-9_]+)(?:\{([^}]*)\})?")


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    queries += [var["query"] for var in board["templating"]["list"] if var["type"] == "query"]
    return queries


def rule_queries() -> list[str]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def declared(series: str) -> tuple[str, tuple[str, ...]]:
    """The declared metric a series name belongs to, and the labels it may carry."""
    if series in METRICS:
        return series, METRICS[series][1]
    for kind, suffixes in SERIES.items():
        for suffix in suffixes:
            base = series.removesuffix(suffix)
            if base != series and METRICS.get(base, ("",))[0] == kind:
                return base, (*METRICS[base][1], *(("le",) if suffix == "_bucket" else ()))
    raise AssertionError(f"{series} is not a metric tfhook declares in tfhook.observe.metrics.METRICS")


@pytest.mark.parametrize("query", dashboard_queries() + rule_queries())
def test_every_query_names_declared_metrics_and_labels(query: str) -> None:
    selectors = SELECTOR.findall(query)
    assert selectors, f"no tfhook metric in {query!r}"
    for series, matchers in selectors:
        _, labels = declared(series)
        used = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers))
        assert used <= {*labels, *TARGET_LABELS}, (series, used - set(labels))
    for grouping in re.findall(r"\bby\s*\(([^)]*)\)", query):
        names = {name.strip() for name in grouping.split(",")}
        allowed = {*TARGET_LABELS, "le"}
        for series, _ in selectors:
            allowed |= set(declared(series)[1])
        assert names <= allowed, (query, names - allowed)


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    text = " ".join(dashboard_queries())
    for metric in ("tfhook_calls_total", "tfhook_call_duration_seconds_bucket", "tfhook_runs_total",
                   "tfhook_events_coalesced_total", "tfhook_last_success_timestamp_seconds",
                   "tfhook_retry_pending"):
        assert metric in text


def test_the_dashboard_tells_instances_apart() -> None:
    # A fleet (#24): every panel follows the instance variable, and the last success is shown
    # per instance and route, so that one stuck instance shows beside one that works.
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert [var["name"] for var in board["templating"]["list"]] == [
        "datasource", "instance", "route"]
    for panel in board["panels"]:
        for target in panel["targets"]:
            for series, matchers in SELECTOR.findall(target["expr"]):
                assert 'instance=~"$instance"' in matchers, (panel["title"], series)
    stale = [target["expr"] for panel in board["panels"] for target in panel["targets"]
             if "tfhook_last_success_timestamp_seconds" in target["expr"]]
    assert stale and all("by (instance, route)" in expr and "process_start_time_seconds" in expr
                         for expr in stale)
    shown = " ".join(dashboard_queries())
    for metric in ("tfhook_held_runs", "tfhook_revert_warnings_total", "tfhook_build_info",
                   "tfhook_notifications_total"):
        assert metric in shown


def test_the_alerts_cover_failing_stale_and_retrying() -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    names = [rule["alert"] for group in groups for rule in group["rules"]]
    assert names[:3] == ["TfhookRefreshFailing", "TfhookNoSuccessfulRefresh", "TfhookRetryPending"]


def test_what_tfhook_exports_today_is_declared() -> None:
    sink = MetricsSink()
    families = {metric.name: metric.type for metric in sink.registry.collect()}
    exported = {f"{name}_total" if kind == "counter" else name for name, kind in families.items()}
    assert exported <= {*METRICS, *PROCESS_METRICS}


def promtool() -> str:
    found = tools.which("promtool")
    if found is None:
        pytest.skip(f"promtool is not installed (Debian package `prometheus`; {tools.HINT})")
    return found


def test_promtool_accepts_the_alert_rules() -> None:
    out = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True,
                         text=True, timeout=60, check=False, env=tools.env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 6 rules found" in out.stdout


def test_the_alert_rules_pass_their_unit_tests() -> None:
    # A failing route, a route that never succeeds, a restart, a held run, and one instance
    # stuck while another works (#24).
    out = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True,
                         text=True, timeout=120, check=False, env=tools.env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    tested = [case["alertname"] for test in tests for case in test["alert_rule_test"]]
    assert {"TfhookRefreshFailing", "TfhookNoSuccessfulRefresh", "TfhookRunHeld"} <= set(tested)


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    # Each panel query as a recording rule: promtool then checks its PromQL.
    rules = [{"record": f"tfhook:dashboard_query_{index}",
              "expr": query.replace("$route", ".*").replace("$instance", ".*")}
             for index, query in enumerate(dashboard_queries()) if "label_values" not in query]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    out = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True,
                         text=True, timeout=60, check=False, env=tools.env())
    assert out.returncode == 0, out.stdout + out.stderr


def test_call_durations_are_bucketed_up_to_30_minutes() -> None:
    sink = MetricsSink()
    sink.duration.labels(phase="post-handle", route="r").observe(1700.0)
    buckets = {sample.labels["le"]: sample.value for metric in sink.registry.collect()
               for sample in metric.samples if sample.name.endswith("_bucket")}
    assert (buckets["1200.0"], buckets["1800.0"]) == (0.0, 1.0)
