"""Reading the history: filters, the table `tfhook history` prints, and one row in full."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tfhook import controls
from tfhook.errors import UserError
from tfhook.history import identity, store, versions
from tfhook.history.recorder import DB_NAME
from tfhook.history.records import RESOURCE

FAILED = ("failed", "timeout", "cancelled")
SUMMARY_MAX = 80
_COLUMNS = ("ID", "TIME", "ROUTE", "RESOURCE", "RESULT", "OUTCOME", "DURATION", "SUMMARY")
_RUN_COLUMNS = ("ID", "STARTED", "ROUTE", "TRIGGERS", "OUTCOME", "DURATION", "SUMMARY")
_DECISION_COLUMNS = ("TIME", "ACTION", "RUN", "USER", "OUTCOME", "ROUTE", "MESSAGE")
_JSON_LISTS = ("routes", "triggers", "refreshed", "drifted", "outputs_changed")
# What `show` lays out over several lines; every other value is one line.
_MULTILINE = ("output", "error", "request")


@dataclass(frozen=True, slots=True)
class Filters:
    """What `tfhook history` selects; `since` is a Unix time."""

    limit: int = 20
    since: float | None = None
    job: str | None = None
    route: str | None = None
    failed: bool = False
    instance: str | None = None  # HOST or HOST:PID (a fleet's history, #24)


def connect(state_dir: Path) -> sqlite3.Connection:
    """Open the history read-only; a UserError when there is none."""
    path = (state_dir / DB_NAME).absolute()
    if not path.is_file():
        raise UserError(f"no history in {state_dir} (a server writes {DB_NAME} there; "
                        "see --state-dir)")
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5.0)
    conn.row_factory = sqlite3.Row
    try:
        versions.check(store.version(conn), store.VERSION, str(path))
    except versions.SchemaTooNew:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def reading(state_dir: Path) -> Iterator[sqlite3.Connection]:
    """The history, open read-only for the block, then closed; a database that cannot be
    read (not SQLite, damaged, unreadable) is a UserError naming it."""
    try:
        conn = connect(state_dir)
        try:
            yield conn
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"cannot read the history {(state_dir / DB_NAME).absolute()}: {exc} "
                        "(move it aside and a server starts a new one)") from None


def calls(conn: Any, filters: Filters) -> list[dict[str, Any]]:
    """Calls, newest first, each with its outcome as shown (`unfinished`, `running`…)."""
    return _select(conn, "calls", filters)


def runs(conn: Any, filters: Filters) -> list[dict[str, Any]]:
    """Runs, newest first; `job` does not apply (a run serves many jobs' calls)."""
    return _select(conn, "runs", filters)


def _select(conn: Any, table_name: str, filters: Filters) -> list[dict[str, Any]]:
    where, args = _where(filters, runs=table_name == "runs", fleet=hasattr(conn, "alive"))
    sql = f"SELECT * FROM {table_name} {where} ORDER BY id DESC LIMIT ?"
    rows = [_row(row, conn) for row in conn.execute(sql, (*args, filters.limit))]
    return [row for row in rows if not filters.failed or row["outcome"] != "running"]


def decisions(conn: Any, filters: Filters) -> list[dict[str, Any]]:
    """Operators' decisions (approve, deny, rollback), newest first; `since`, `route` and
    `failed` (not done) apply."""
    clauses, args = [], []
    for clause, value, wanted in (("time >= ?", filters.since, filters.since is not None),
                                  ("route = ?", filters.route, filters.route is not None),
                                  ("outcome != ?", "done", filters.failed)):
        if wanted:
            clauses.append(clause)
            args.append(value)
    where = "WHERE " + " AND ".join(clauses) if clauses else ""
    sql = f"SELECT * FROM decisions {where} ORDER BY id DESC LIMIT ?"
    return [dict(row) for row in conn.execute(sql, (*args, filters.limit))] if _decided(conn) else []


def _decided(conn: Any) -> bool:
    """Whether the history has a decisions table (a file no tfhook since #21 has written
    has none; it is read-only here; PostgreSQL's always has)."""
    return hasattr(conn, "alive") or conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'decisions'"
    ).fetchone() is not None


def decisions_table(rows: Iterable[dict[str, Any]]) -> str:
    """The readable table of decisions."""
    return _grid([_DECISION_COLUMNS, *(
        (_time(row["time"]), row["action"], f"run-{row['run_id']}", row["user"], row["outcome"],
         row["route"] or "-", summary({"error": row["message"], "outcome": row["outcome"]}))
        for row in rows)])


def _where(filters: Filters, *, runs: bool = False, fleet: bool = False
           ) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if filters.since is not None:
        clauses.append("started >= ?" if runs else "time >= ?")
        args.append(filters.since)
    if filters.job is not None and not runs:
        clauses.append("scaling_job_id = ?")
        args.append(filters.job)
    if filters.route is not None:
        clauses.append("route = ?" if runs else "routes::jsonb @> jsonb_build_array(?::text)"
                       if fleet else "EXISTS (SELECT 1 FROM json_each(calls.routes) WHERE value = ?)")
        args.append(filters.route)
    if filters.instance is not None:
        clauses.append("(server_host = ? OR server_host || ':' || server_pid = ?)")
        args.extend((filters.instance, filters.instance))
    if filters.failed:
        marks = ",".join("?" * len(FAILED))
        clauses.append(f"(finished IS NULL OR outcome IN ({marks}))")
        args.extend(FAILED)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), args


def call(conn: Any, call_id: int) -> dict[str, Any] | None:
    found = conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
    return None if found is None else _row(found, conn)


def run(conn: Any, run_id: int) -> dict[str, Any] | None:
    """One run, with the decisions taken on it (`decisions`: one line each, oldest first)."""
    found = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if found is None:
        return None
    decided = conn.execute("SELECT * FROM decisions WHERE run_id = ? ORDER BY id",
                           (run_id,)).fetchall() if _decided(conn) else []
    return {**_row(found, conn), "decisions": [
        f"{_time(row['time'])} {row['action']} by {row['user']}: {row['outcome']}"
        + (f" ({row['message']})" if row["message"] else "") for row in decided]}


def _row(row: Any, conn: Any) -> dict[str, Any]:
    data = dict(row)
    for key in _JSON_LISTS:
        if isinstance(data.get(key), str):
            data[key] = json.loads(data[key])
    if hasattr(conn, "alive"):  # a fleet's history: which server wrote the row
        data["instance"] = f"{data.get('server_host')}:{data.get('server_pid')}"
    if data.get("finished") is None:
        # A row never completed: its server is still working on it, or died under it.
        alive = conn.alive(data) if hasattr(conn, "alive") else identity.alive(
            data.get("server_pid"), data.get("server_start"))
        data["outcome"] = "running" if alive else "unfinished"
    return data


def table(rows: Iterable[dict[str, Any]]) -> str:
    """The readable table of calls (fixed columns, the summary last)."""
    rows = list(rows)
    return _grid([_fleet(_COLUMNS, "INSTANCE", rows),
                  *(_fleet(_cells(row), row.get("instance", ""), rows) for row in rows)])


def _fleet(line: tuple[str, ...], instance: str, rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """A line with its INSTANCE after the time, when the rows are a fleet's."""
    return (*line[:2], instance, *line[2:]) if rows and "instance" in rows[0] else line


def _grid(lines: list[tuple[str, ...]]) -> str:
    # A caller's strings (job id, resource name, source...) are shown, never obeyed: an
    # escape sequence or a newline in one must not recolour the terminal or fake a row.
    lines = [tuple(controls.escape(cell) for cell in line) for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
        + "  " + line[-1] + "\n"
        for line in lines
    )


def runs_table(rows: Iterable[dict[str, Any]]) -> str:
    """The readable table of runs (`show run-N` for one in full)."""
    rows = list(rows)
    return _grid([_fleet(_RUN_COLUMNS, "INSTANCE", rows),
                  *(_fleet(_run_cells(row), row.get("instance", ""), rows) for row in rows)])


def _run_cells(row: dict[str, Any]) -> tuple[str, ...]:
    duration = None if row["finished"] is None else row["finished"] - row["started"]
    if row.get("error"):
        text = summary({**row, "output": ""})
    elif row["finished"] is None:
        text = summary(row) if row["outcome"] == "unfinished" else ""
    elif "rollback" in row["triggers"]:  # its `drifted`: what the rollback changed
        text = _cut(f"rolled back {len(row['drifted'] or [])}: "
                    + "; ".join(row["drifted"] or []))
    else:
        text = (f"refreshed {len(row['refreshed'] or [])}, drifted {len(row['drifted'] or [])}, "
                f"outputs changed {len(row['outputs_changed'] or [])}")
    return (f"run-{row['id']}", _time(row["started"]), row["route"] or "-",
            ",".join(row["triggers"]) or "-", row["outcome"], _duration(duration), text)


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    resource = " ".join(part for part in (row[column] for column in RESOURCE) if part)
    code = row["result"] if row["phase"] == "post-handle" else (
        f"{row['phase']} {row['instruction']}".strip())
    return (str(row["id"]), _time(row["time"]), ",".join(row["routes"]) or "-", resource or "-",
            code or "-", row["outcome"], _duration(row["duration"]), summary(row))


def summary(row: dict[str, Any]) -> str:
    """One line: the error's first line, else the output's last line."""
    text = row.get("error") or ""
    lines = text.splitlines()[:1] if text else (row.get("output") or "").splitlines()[-1:]
    line = lines[0].strip() if lines else ""
    if row["outcome"] == "unfinished" and not line:
        what = "run" if "started" in row else "call"
        line = f"the server stopped before this {what} finished"
    return _cut(line)


def _cut(line: str) -> str:
    return line if len(line) <= SUMMARY_MAX else line[: SUMMARY_MAX - 1] + "…"


def _time(value: float | None) -> str:
    return "-" if value is None else datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def _duration(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}m{seconds:02d}s"


def details(row: dict[str, Any]) -> str:
    """One call or run in full: `key: value` lines, multi-line values indented."""
    out: list[str] = []
    for key, value in row.items():
        if key in ("time", "finished", "started"):
            value = _time(value)
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        elif key == "duration" and value is not None:
            value = f"{value:.3f}s"
        elif key == "request" and value:
            value = json.dumps(json.loads(value), indent=2, ensure_ascii=False)
        text = "-" if value is None or value == "" else str(value)
        if key in _MULTILINE:  # lines of their own; CRLF is a line end, not a control
            text = controls.escape(text.replace("\r\n", "\n"), newlines=False)
        else:  # as in _grid
            text = controls.escape(text)
        if "\n" in text:
            text = "\n" + "".join(f"    {line}\n" for line in text.splitlines()).rstrip("\n")
        out.append(f"{key}: {text}\n")
    return "".join(out)


def as_json(value: dict[str, Any] | list[dict[str, Any]]) -> str:
    """Rows as JSON, times in ISO 8601 with their offset."""
    rows = value if isinstance(value, list) else [value]
    for row in rows:
        for key in ("time", "finished", "started"):
            if isinstance(row.get(key), float):
                row[key] = datetime.fromtimestamp(row[key]).astimezone().isoformat()
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
