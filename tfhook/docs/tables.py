"""Reference pages read from tables in the code: metrics, hook environment, history schema."""

from __future__ import annotations

import sqlite3

from tfhook.core.hooks import RESOURCE_TYPES
from tfhook.core.model import Event, GoJson, Phase, ResourceIds
from tfhook.docs import NOTE
from tfhook.history.store import SCHEMA
from tfhook.observe import metrics
from tfhook.runners.executable import ENV_VALUE_LIMIT, hook_environment
from tfhook.terraform.commands import environment

# What each variable the runner sets means; the names come from the runner itself
# (hook_environment), and a variable it sets that is missing here stops the page being made.
_MEANING = {
    "TFHOOK_PHASE": "the call's phase: `pre-handle`, `handle` or `post-handle`",
    "TFHOOK_JOB_ID": "the scaling job's id (`scaling_job_id`)",
    "TFHOOK_RESOURCE_NAME": "the request's resource name",
    "TFHOOK_RESOURCE_TYPE": "the request's resource: {types}, or empty",
    "TFHOOK_ROUTE": "the route's name (`executable` in generic mode)",
    "TFHOOK_RESULT": "PostHandle only: the result by name (`CREATED`, `UPDATED`, `DELETED`, "
                     "`NO_CHANGE`, `UNKNOWN`; the number for a code tfhook does not know)",
    "TFHOOK_INSTRUCTION": "PreHandle and Handle only: the instruction by name (`CREATE`, "
                          "`UPDATE`, `DELETE`, `NOOP`, `UNKNOWN`; the number otherwise)",
}


def metrics_page() -> str:
    """docs/reference/metrics.md: every metric of the registry /metrics serves."""
    sink = metrics.MetricsSink()
    metrics.count_history_failures(sink, lambda: 0)
    metrics.count_held(sink, lambda: 0)
    helps = {family.name: family.documentation for family in sink.registry.collect()}
    lines = ["# Metrics", "", NOTE.format(source="the Prometheus registry of "
             "`tfhook/observe/metrics.py`"), "",
             "Served on `/metrics` when the exporter is on (`exporter_config` in `--config`).",
             "", "| metric | type | labels | what |", "|---|---|---|---|"]
    for name, (kind, labels) in metrics.METRICS.items():
        text = helps[name.removesuffix("_total")]
        shown = ", ".join(f"`{label}`" for label in labels)
        lines.append(f"| `{name}` | {kind} | {shown} | {text} |")
    buckets = ", ".join(f"{bucket:g}" for bucket in metrics.DURATION_BUCKETS)
    lines += ["", f"Histogram buckets (seconds): {buckets}."]
    return "\n".join(lines) + "\n"


def environment_page() -> str:
    """docs/reference/environment.md: what a hook finds in its environment."""
    post, handle = (hook_environment(_event(phase), "ROUTE") for phase in (Phase.POST_HANDLE,
                                                                             Phase.HANDLE))
    names = [*post, *(name for name in handle if name not in post)]
    missing = [name for name in names if name not in _MEANING]
    if missing:
        raise LookupError(f"hook environment variables without a meaning: {missing}")
    types = ", ".join(f"`{kind}`" for kind in RESOURCE_TYPES)
    lines = ["# Hook environment", "", NOTE.format(source="`hook_environment` in "
             "`tfhook/runners/executable.py`"), "",
             "A hook runs with tfhook's environment plus these variables. Names are cut at "
             f"{ENV_VALUE_LIMIT} characters; control characters and DEL in them are written "
             "`\\xNN`.", "", "| variable | what |", "|---|---|"]
    lines += [f"| `{name}` | {_MEANING[name].format(types=types)} |" for name in names]
    fixed = environment({})
    lines += ["", "Terraform (in Terraform mode and `tfhook terraform`) runs with: "
              + ", ".join(f"`{key}={value}`" for key, value in fixed.items())
              + " (`CHECKPOINT_DISABLE` unless the environment sets it)."]
    return "\n".join(lines) + "\n"


def history_page() -> str:
    """docs/reference/history.md: the tables and columns of `history.sqlite3`."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    lines = ["# History schema", "", NOTE.format(source="`SCHEMA` in `tfhook/history/store.py`"),
             "", "The history is the SQLite database `history.sqlite3` in the state directory "
             "(`tfhook serve --help` names its option). Times are Unix seconds; lists are JSON.", "",
             "Given a PostgreSQL URL (serve's option), the same tables live there (`MIGRATIONS` in "
             "`tfhook/history/pgstore.py`: ids are `bigserial`, times `double precision`), "
             "with one more, `instances` (host, pid, start, heartbeat, interval, stopped), "
             "that tells a crashed server's calls from running ones. `tfhook_schema` holds "
             "the schema version; a tfhook that knows an older one refuses the database.", ""]
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        lines += [f"## `{table}`", "", "| column | type | null | default |", "|---|---|---|---|"]
        for _, name, kind, notnull, default, key in conn.execute(f"PRAGMA table_info({table})"):
            shown = "primary key" if key else ("" if default is None else f"`{default}`")
            lines.append(f"| `{name}` | {kind} | {'no' if notnull or key else 'yes'} | {shown} |")
        lines.append("")
    conn.close()
    return "\n".join(lines).rstrip("\n") + "\n"


def _event(phase: Phase) -> Event:
    return Event(phase, "", "", "", 2, 2, ResourceIds(), GoJson(b"{}"))
