"""The history's files: a damaged database, rows of a server whose pid was taken since,
databases of an older tfhook, and modes that let others read them."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import HANG_GUARD, run_tfhook, tfhook_command, write_script

from tfhook.history import DB_NAME, CallEnd, CallStart, History, query

OLD_SCHEMA = """
CREATE TABLE calls (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,
    phase TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', resource_type TEXT NOT NULL DEFAULT '',
    resource_name TEXT NOT NULL DEFAULT '', scaling_job_id TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '', instruction TEXT NOT NULL DEFAULT '',
    routes TEXT NOT NULL DEFAULT '[]', server_pid INTEGER, request TEXT, finished REAL,
    decision TEXT, run_id INTEGER, outcome TEXT, error TEXT, duration REAL, output TEXT);
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL,
    directory TEXT NOT NULL, route TEXT NOT NULL DEFAULT '', triggers TEXT NOT NULL DEFAULT '[]',
    server_pid INTEGER, finished REAL, outcome TEXT, refreshed TEXT, drifted TEXT,
    outputs_changed TEXT, error TEXT);
INSERT INTO calls (time, phase, scaling_job_id, server_pid) VALUES (1000.0, 'post-handle',
    'old-job', 1);
INSERT INTO runs (started, directory, server_pid, finished, outcome)
    VALUES (1000.0, '/infra', 1, 1001.0, 'done');
"""


def listed(state: Path) -> list[dict]:
    conn = query.connect(state)
    try:
        return query.calls(conn, query.Filters())
    finally:
        conn.close()


def record(state: Path, job: str, *, finish: bool = False) -> None:
    """A call's row, written as a server writes it (and completed when `finish`)."""
    history = History(state, keep=1e12)

    async def write() -> None:
        ref = await history.call_started(CallStart(time=2000.0, phase="post-handle",
                                                   scaling_job_id=job))
        if finish:
            await history.call_finished(ref, CallEnd(2001.0, "ran", "done", 1.0))

    asyncio.run(write())
    history.close()


@pytest.mark.parametrize("args", [["history"], ["history", "runs"], ["history", "show", "1"],
                                  ["send", "post-handle", "--replay", "1", "--addr",
                                   "unix:nowhere.sock"]])
def test_a_damaged_database_is_one_line(tmp_path: Path, args: list[str]) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / DB_NAME).write_bytes(b"not a database; " * 512)
    result = run_tfhook([*args, "--state-dir", str(state)], cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"tfhook: error: cannot read the history {state / DB_NAME}: file "
                             "is not a database (move it aside and a server starts a new one)\n")


def test_a_row_whose_pid_another_process_took_is_unfinished(tmp_path: Path) -> None:
    record(tmp_path, "live")  # this process wrote it and lives: running
    record(tmp_path, "pid-reused")
    other = subprocess.Popen(["sleep", "120"])  # alive, but not the server that wrote the row
    try:
        with sqlite3.connect(tmp_path / DB_NAME) as conn:
            conn.execute("UPDATE calls SET server_pid = ? WHERE scaling_job_id = 'pid-reused'",
                         (other.pid,))
        assert [(r["scaling_job_id"], r["outcome"]) for r in listed(tmp_path)] == [
            ("pid-reused", "unfinished"), ("live", "running")]
    finally:
        other.kill()
        other.wait()


def test_an_older_database_gains_the_new_columns_in_place_and_keeps_its_rows(
        tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.executescript(OLD_SCHEMA)
    os.chmod(tmp_path / DB_NAME, 0o600)
    record(tmp_path, "new-job", finish=True)
    record(tmp_path, "newer-job")
    rows = listed(tmp_path)
    assert [(r["id"], r["scaling_job_id"], r["outcome"]) for r in rows] == [
        (3, "newer-job", "running"), (2, "new-job", "done"),
        (1, "old-job", "running" if _pid_1_visible() else "unfinished")]
    assert rows[0]["server_start"] and rows[2]["server_start"] is None
    conn = query.connect(tmp_path)
    try:
        assert [(r["directory"], r["outcome"]) for r in query.runs(conn, query.Filters())] == [
            ("/infra", "done")]
    finally:
        conn.close()


def _pid_1_visible() -> bool:
    try:
        os.kill(1, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def test_history_files_are_private_and_a_loose_directory_is_named(serve, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)  # whatever the umask: open to others
    record(state, "before")
    os.chmod(state / DB_NAME, 0o644)  # as a copy or an older tfhook may have left it
    hook = write_script(tmp_path / "hook", "echo ok\n")
    served = serve("--executable-path", str(hook), "--state-dir", str(state))
    sent = subprocess.run(tfhook_command("send", "post-handle", "--addr", served.target),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert sent.returncode == 0, sent.stderr
    files = sorted(p.name for p in state.iterdir())
    assert files == [DB_NAME, f"{DB_NAME}-shm", f"{DB_NAME}-wal"]
    assert {name: stat.S_IMODE((state / name).stat().st_mode) for name in files} == {
        name: 0o600 for name in files}
    warnings = [line for line in served.log().splitlines() if "history not private" in line]
    assert len(warnings) == 2, served.log()
    assert f"{state / DB_NAME} had mode 0644; made 0600" in warnings[0]
    assert f"the state directory {state} has mode 0755" in warnings[1]
    assert f"chmod 700 {state}" in warnings[1]


# Another process writing a row the way a server or the CLI does, then closing.
OTHER_WRITER = """
import asyncio, sys
from pathlib import Path
from tfhook.history import CallStart, History
history = History(Path(sys.argv[1]), keep=1e12)
asyncio.run(history.call_started(CallStart(time=2000.0, phase="post-handle",
                                           scaling_job_id="other")))
history.close()
"""


def test_another_process_closing_the_database_leaves_this_ones_wal(tmp_path: Path) -> None:
    """A History keeps two connections (the event loop's, the writer's); another process
    (the CLI's direct rollback) opens the same file, writes and closes. SQLite deletes the
    -wal/-shm on a close when no other process holds a lock on the file: this process must
    still hold its locks, and every row of both stay readable."""
    history = History(tmp_path, keep=1e12)

    async def write(job: str) -> None:
        ref = await history.call_started(CallStart(time=2000.0, phase="post-handle",
                                                   scaling_job_id=job))
        await history.call_finished(ref, CallEnd(2001.0, "ran", "done", 1.0))

    try:
        asyncio.run(write("before"))
        other = subprocess.run([sys.executable, "-c", OTHER_WRITER, str(tmp_path)],
                               check=False, capture_output=True, text=True, timeout=HANG_GUARD)
        assert other.returncode == 0, other.stderr
        assert (tmp_path / f"{DB_NAME}-wal").exists()
        asyncio.run(write("after"))
    finally:
        history.close()
    assert [row["scaling_job_id"] for row in listed(tmp_path)] == ["after", "other", "before"]
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
