"""The SQLite side of the history: schema, writes and pruning (synchronous; one thread uses it)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from tfhook.history.records import CallEnd, CallStart, RunEnd, RunStart

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    phase TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    resource_type TEXT NOT NULL DEFAULT '',
    resource_name TEXT NOT NULL DEFAULT '',
    scaling_job_id TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '',
    instruction TEXT NOT NULL DEFAULT '',
    routes TEXT NOT NULL DEFAULT '[]',
    server_pid INTEGER,
    request TEXT,
    finished REAL,
    decision TEXT,
    run_id INTEGER,
    outcome TEXT,
    error TEXT,
    duration REAL,
    output TEXT
);
CREATE INDEX IF NOT EXISTS calls_time ON calls (time);
CREATE INDEX IF NOT EXISTS calls_job ON calls (scaling_job_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    directory TEXT NOT NULL,
    route TEXT NOT NULL DEFAULT '',
    triggers TEXT NOT NULL DEFAULT '[]',
    server_pid INTEGER,
    finished REAL,
    outcome TEXT,
    refreshed TEXT,
    drifted TEXT,
    outputs_changed TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started);
"""


def connect(path: Path, *, wait: float = 5.0) -> sqlite3.Connection:
    """Open (and create) the database in WAL mode; the file is private to its owner.

    Args:
        path: the database file.
        wait: seconds a write waits for another writer's lock. 0 makes a connection that
            never waits (SQLITE_BUSY at once) and never checkpoints: its writes only append
            to the WAL, in the page cache.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite's -wal/-shm copy this mode
    conn = sqlite3.connect(path, timeout=wait, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # in WAL, a commit survives a crash of tfhook
    conn.executescript(SCHEMA)
    if not wait:
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the waiting connection checkpoints
    return conn


def insert_call(conn: sqlite3.Connection, call: CallStart) -> int:
    cursor = conn.execute(
        "INSERT INTO calls (time, phase, source, resource_type, resource_name, scaling_job_id,"
        " result, instruction, routes, server_pid, request) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (call.time, call.phase, call.source, call.resource_type, call.resource_name,
         call.scaling_job_id, call.result, call.instruction, json.dumps(list(call.routes)),
         os.getpid(), call.request),
    )
    return int(cursor.lastrowid or 0)


def finish_call(conn: sqlite3.Connection, call_id: int, end: CallEnd) -> None:
    conn.execute(
        "UPDATE calls SET finished=?, decision=?, run_id=?, outcome=?, error=?, duration=?,"
        " output=? WHERE id=?",
        (end.finished, end.decision, end.run_id, end.outcome, end.error, end.duration,
         end.output, call_id),
    )


def insert_run(conn: sqlite3.Connection, run: RunStart) -> int:
    cursor = conn.execute(
        "INSERT INTO runs (started, directory, route, triggers, server_pid) VALUES (?,?,?,?,?)",
        (run.started, run.directory, run.route, json.dumps(list(run.triggers)), os.getpid()),
    )
    return int(cursor.lastrowid or 0)


def finish_run(conn: sqlite3.Connection, run_id: int, end: RunEnd) -> None:
    conn.execute(
        "UPDATE runs SET finished=?, outcome=?, refreshed=?, drifted=?, outputs_changed=?,"
        " error=? WHERE id=?",
        (end.finished, end.outcome, json.dumps(list(end.refreshed)),
         json.dumps(list(end.drifted)), json.dumps(list(end.outputs_changed)), end.error,
         run_id),
    )


def prune(conn: sqlite3.Connection, before: float) -> int:
    """Delete calls and runs that started before `before`; returns how many rows went."""
    calls = conn.execute("DELETE FROM calls WHERE time < ?", (before,)).rowcount
    runs = conn.execute("DELETE FROM runs WHERE started < ?", (before,)).rowcount
    return calls + runs
