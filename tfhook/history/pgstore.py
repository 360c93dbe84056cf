"""The PostgreSQL side of the history (#24): the same tables as the SQLite store, versioned
migrations, writes and pruning, and the fleet's heartbeats (synchronous; one thread uses it).

psycopg is imported by the caller (tfhook/history/fleet.py) only when a history URL is
given; this module only shapes SQL and takes a connection.
"""

from __future__ import annotations

import json
from typing import Any

from tfhook.history import identity, records, versions
from tfhook.history.records import CallEnd, CallStart, DecisionRow, RunEnd, RunStart

# Serialises instances that migrate at once (a constant of tfhook's own: "tfhk").
LOCK = 0x7466686B
_ID = "id bigserial PRIMARY KEY"
_WHO = "server_pid integer, server_start text, server_host text"
# Migrations, in order: the schema of version N is MIGRATIONS[:N]. Never edit one that was
# released; add the next.
MIGRATIONS = (
    f"""
CREATE TABLE calls ({_ID}, time double precision NOT NULL, phase text NOT NULL,
    {records.event_columns("text")},
    routes text NOT NULL DEFAULT '[]', {_WHO}, request text, finished double precision,
    decision text, run_id bigint, outcome text, error text, duration double precision,
    output text);
CREATE INDEX calls_time ON calls (time);
CREATE INDEX calls_job ON calls (scaling_job_id);
CREATE TABLE runs ({_ID}, started double precision NOT NULL, directory text NOT NULL,
    route text NOT NULL DEFAULT '', triggers text NOT NULL DEFAULT '[]', {_WHO},
    finished double precision, outcome text, refreshed text, drifted text,
    outputs_changed text, error text);
CREATE INDEX runs_started ON runs (started);
CREATE TABLE decisions ({_ID}, time double precision NOT NULL, action text NOT NULL,
    run_id bigint NOT NULL, "user" text NOT NULL, outcome text NOT NULL,
    message text NOT NULL DEFAULT '', directory text NOT NULL DEFAULT '',
    route text NOT NULL DEFAULT '', peer text NOT NULL DEFAULT '', {_WHO});
CREATE INDEX decisions_run ON decisions (run_id);
CREATE TABLE instances (host text NOT NULL, pid integer NOT NULL, start text NOT NULL,
    started double precision NOT NULL, heartbeat double precision NOT NULL,
    every double precision NOT NULL, stopped double precision,
    PRIMARY KEY (host, pid, start));
""",
)
VERSION = len(MIGRATIONS)


def version(conn: Any) -> int | None:
    """The schema version the database has (None: no tfhook history there yet)."""
    if conn.execute("SELECT to_regclass(%s)", (versions.TABLE,)).fetchone()[0] is None:
        return None
    return conn.execute(f"SELECT max(version) FROM {versions.TABLE}").fetchone()[0]  # type: ignore[no-any-return]


def migrate(conn: Any, where: str) -> None:
    """Bring the schema to VERSION in one transaction (instances starting at once take turns);
    a newer schema is refused (versions.SchemaTooNew)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
        found = version(conn)
        versions.check(found, VERSION, where)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {versions.TABLE} (version integer NOT NULL)")
        for number in range((found or 0) + 1, VERSION + 1):
            conn.execute(MIGRATIONS[number - 1])
            conn.execute(f"INSERT INTO {versions.TABLE} (version) VALUES (%s)", (number,))


def beat(conn: Any, now: float, every: float, started: float) -> None:
    """This instance's heartbeat (its row made on the first one)."""
    host, pid, start = identity.instance()
    conn.execute(
        "INSERT INTO instances (host, pid, start, started, heartbeat, every) VALUES"
        " (%s,%s,%s,%s,%s,%s) ON CONFLICT (host, pid, start) DO UPDATE SET heartbeat ="
        " excluded.heartbeat, every = excluded.every, stopped = NULL",
        (host, pid, start, started, now, every))


def stopped(conn: Any, now: float) -> None:
    """This instance stopped: its unfinished rows are `unfinished` at once."""
    host, pid, start = identity.instance()
    conn.execute("UPDATE instances SET stopped = %s WHERE host = %s AND pid = %s AND start = %s",
                 (now, host, pid, start))


def _who() -> tuple[int, str, str]:
    host, pid, start = identity.instance()
    return pid, start, host


def insert_call(conn: Any, call: CallStart) -> int:
    row = conn.execute(
        f"INSERT INTO calls (time, phase, {', '.join(records.EVENT)}, routes, server_pid,"
        " server_start, server_host, request)"
        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
        (call.time, call.phase, *records.event_values(call), json.dumps(list(call.routes)),
         *_who(), call.request)).fetchone()
    return int(row[0])


def finish_call(conn: Any, call_id: int, end: CallEnd) -> None:
    conn.execute(
        "UPDATE calls SET finished=%s, decision=%s, run_id=%s, outcome=%s, error=%s,"
        " duration=%s, output=%s WHERE id=%s",
        (end.finished, end.decision, end.run_id, end.outcome, end.error, end.duration,
         end.output, call_id))


def insert_run(conn: Any, run: RunStart) -> int:
    row = conn.execute(
        "INSERT INTO runs (started, directory, route, triggers, server_pid, server_start,"
        " server_host) VALUES (%s,%s,%s,%s,%s,%s,%s) RETURNING id",
        (run.started, run.directory, run.route, json.dumps(list(run.triggers)),
         *_who())).fetchone()
    return int(row[0])


def finish_run(conn: Any, run_id: int, end: RunEnd) -> None:
    conn.execute(
        "UPDATE runs SET finished=%s, outcome=%s, refreshed=%s, drifted=%s, outputs_changed=%s,"
        " error=%s WHERE id=%s",
        (end.finished, end.outcome, json.dumps(list(end.refreshed)),
         json.dumps(list(end.drifted)), json.dumps(list(end.outputs_changed)), end.error,
         run_id))


def insert_decision(conn: Any, row: DecisionRow) -> int:
    found = conn.execute(
        'INSERT INTO decisions (time, action, run_id, "user", outcome, message, directory,'
        " route, peer, server_pid, server_start, server_host) VALUES"
        " (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
        (row.time, row.action, row.run_id, row.user, row.outcome, row.message, row.directory,
         row.route, row.peer, *_who())).fetchone()
    return int(found[0])


def prune(conn: Any, before: float) -> int:
    """Delete calls, runs, decisions and instances' heartbeats from before `before`."""
    removed = 0
    for table, column in (("calls", "time"), ("runs", "started"), ("decisions", "time"),
                          ("instances", "heartbeat")):
        removed += conn.execute(f"DELETE FROM {table} WHERE {column} < %s", (before,)).rowcount
    return removed
