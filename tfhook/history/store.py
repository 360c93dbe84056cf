"""The SQLite side of the history: schema, writes and pruning (synchronous; one thread uses it)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from pathlib import Path

from tfhook.history import identity, records, versions
from tfhook.history.records import CallEnd, CallStart, DecisionRow, RunEnd, RunStart

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    phase TEXT NOT NULL,
    {records.event_columns("TEXT")},
    routes TEXT NOT NULL DEFAULT '[]',
    server_pid INTEGER,
    server_start TEXT,
    server_host TEXT,
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
    server_start TEXT,
    server_host TEXT,
    finished REAL,
    outcome TEXT,
    refreshed TEXT,
    drifted TEXT,
    outputs_changed TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    action TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    user TEXT NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    directory TEXT NOT NULL DEFAULT '',
    route TEXT NOT NULL DEFAULT '',
    peer TEXT NOT NULL DEFAULT '',
    server_pid INTEGER,
    server_start TEXT,
    server_host TEXT
);
CREATE INDEX IF NOT EXISTS decisions_run ON decisions (run_id);
CREATE TABLE IF NOT EXISTS tfhook_schema (version INTEGER NOT NULL);
"""
# Columns added since the first schema: (table, column, type), added in place to older files.
# (A table added since, such as `decisions`, is made in place by SCHEMA's IF NOT EXISTS.)
ADDED = (("calls", "server_start", "TEXT"), ("runs", "server_start", "TEXT"),
         ("calls", "server_host", "TEXT"), ("runs", "server_host", "TEXT"),
         ("decisions", "server_host", "TEXT"))
# The schema's version (the table tfhook_schema holds it): 1 had no such table; 2 names each
# row's host. A file with a higher version is refused (a newer tfhook made it).
VERSION = 2


def connect(path: Path, *, wait: float = 5.0) -> sqlite3.Connection:
    """Open (and create) the database in WAL mode; the file is private to its owner.

    Args:
        path: the database file.
        wait: seconds a write waits for another writer's lock. 0 makes a connection that
            never waits (SQLITE_BUSY at once) and never checkpoints: its writes only append
            to the WAL, in the page cache.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=wait, isolation_level=None, check_same_thread=False)
    _private(path)  # before the first write: SQLite's -wal/-shm copy the file's mode
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # in WAL, a commit survives a crash of tfhook
    versions.check(version(conn), VERSION, str(path))
    conn.executescript(SCHEMA)
    _migrate(conn)
    if not wait:
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the waiting connection checkpoints
    return conn


def _private(path: Path) -> None:
    """Make the database file 0600 without opening it. Never open and close the file beside
    a live connection of this process: closing any descriptor of a file drops all of the
    process's POSIX locks on it, and SQLite, seeing no other connection, deletes the WAL
    (another server's rows with it) when the next connection closes."""
    with contextlib.suppress(OSError):  # not ours to change: tighten() reports it
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)


def tighten(path: Path) -> list[str]:
    """Make the database and its -wal/-shm files private (0600) where others could read
    them (made by hand, by a copy, by an older tfhook); what was wrong, one line each, and
    a warning for a directory others may read or write (left as it is: it is the user's)."""
    found: list[str] = []
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                file.chmod(0o600)
                found.append(f"{file} had mode {mode:04o}; made 0600 (requests carry secrets)")
        except FileNotFoundError:
            continue
        except OSError as exc:
            found.append(f"{file} is open to others and could not be made private: {exc}")
    try:
        mode = stat.S_IMODE(path.parent.stat().st_mode)
    except OSError:
        return found
    if mode & 0o066:
        found.append(f"the state directory {path.parent} has mode {mode:04o} (open to others); "
                     f"make it private: chmod 700 {path.parent}")
    return found


def version(conn: sqlite3.Connection) -> int | None:
    """The schema version the database says it has (None: made before versions, or new)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (versions.TABLE,)).fetchone() is None:
        return None
    return conn.execute(f"SELECT max(version) FROM {versions.TABLE}").fetchone()[0]  # type: ignore[no-any-return]


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a database made by an older tfhook lacks; its rows stay."""
    for table, column, kind in ADDED:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as exc:  # another server added it meanwhile
                if "duplicate column" not in str(exc):
                    raise
    if (version(conn) or 0) < VERSION:
        conn.execute(f"INSERT INTO {versions.TABLE} (version) VALUES (?)", (VERSION,))


def insert_call(conn: sqlite3.Connection, call: CallStart) -> int:
    cursor = conn.execute(
        f"INSERT INTO calls (time, phase, {', '.join(records.EVENT)}, routes, server_pid,"
        " server_start, server_host, request) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (call.time, call.phase, *records.event_values(call), json.dumps(list(call.routes)),
         os.getpid(), identity.own(), identity.host(), call.request),
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
        "INSERT INTO runs (started, directory, route, triggers, server_pid, server_start,"
        " server_host) VALUES (?,?,?,?,?,?,?)",
        (run.started, run.directory, run.route, json.dumps(list(run.triggers)), os.getpid(),
         identity.own(), identity.host()),
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


def insert_decision(conn: sqlite3.Connection, row: DecisionRow) -> int:
    cursor = conn.execute(
        "INSERT INTO decisions (time, action, run_id, user, outcome, message, directory, route,"
        " peer, server_pid, server_start, server_host) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (row.time, row.action, row.run_id, row.user, row.outcome, row.message, row.directory,
         row.route, row.peer, os.getpid(), identity.own(), identity.host()),
    )
    return int(cursor.lastrowid or 0)


def prune(conn: sqlite3.Connection, before: float) -> int:
    """Delete calls, runs and decisions from before `before`; returns how many rows went."""
    calls = conn.execute("DELETE FROM calls WHERE time < ?", (before,)).rowcount
    runs = conn.execute("DELETE FROM runs WHERE started < ?", (before,)).rowcount
    decisions = conn.execute("DELETE FROM decisions WHERE time < ?", (before,)).rowcount
    return calls + runs + decisions
