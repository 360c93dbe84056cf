"""The history in a real PostgreSQL, shared by several servers (#24): rows of a killed
server, a database restarted under load, two servers writing at once, the password kept out."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest
from support.pg import Postgres
from support.servers import (
    HANG_GUARD,
    Served,
    env_with,
    run_tfhook,
    start_server,
    wait_for,
    write_script,
)

from tfhook.v1 import handler_pb2 as pb

SECRET = "s3cr3t-pg-pass"
SLOW = """#!/bin/sh
echo started >> "$0.log"
[ -e "$0.hold" ] && sleep 600
echo done
"""



def serve(tmp: Path, url: str, name: str, **env: str) -> Served:
    where = tmp / name
    where.mkdir()
    hook = write_script(where / "hook", SLOW)
    return start_server(["--executable-path", str(hook), "--history-url", url,
                         "--state-dir", str(where / "state")],
                        cwd=where, addr=f"unix:{where}/s.sock", env=env_with(**env))


def history(url: str, *args: str, cwd: Path) -> list[dict]:
    done = run_tfhook(["history", *args, "--history-url", url, "--json", "--limit", "1000"],
                      cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def post(served: Served, job: str) -> list[int]:
    return [r.status for r in served.call("PostHandle", pb.PostHandleRequest(
        scaling_job_id=job, result=1))]


@pytest.mark.slow
def test_a_killed_server_leaves_its_call_unfinished(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.database()
    served = serve(tmp_path, url, "a")
    (tmp_path / "a" / "hook.hold").touch()
    call = threading.Thread(target=lambda: _quietly(post, served, "job-killed"))
    call.start()
    wait_for(lambda: (tmp_path / "a" / "hook.log").exists(), what="the hook to start")
    [row] = history(url, cwd=tmp_path)
    assert (row["scaling_job_id"], row["outcome"]) == ("job-killed", "running")
    served.proc.send_signal(signal.SIGKILL)
    served.proc.wait(HANG_GUARD)
    # Its heartbeat stops: after three intervals the row is unfinished, read from any host.
    # (Each try runs `tfhook history`: every 2 s of the 30, not back to back.)
    rows = wait_for(lambda: [r for r in history(url, cwd=tmp_path) if r["outcome"] == "unfinished"],
                    what="the row to show unfinished", every=2.0)
    assert [r["scaling_job_id"] for r in rows] == ["job-killed"]
    served.channel.close()
    call.join(HANG_GUARD)


def _quietly(send, *args) -> None:  # the server is killed under the call
    with contextlib.suppress(Exception):
        send(*args)


def test_two_servers_write_at_once_no_row_lost_or_doubled(postgres: Postgres,
                                                          tmp_path: Path) -> None:
    url = postgres.database()
    servers = [serve(tmp_path, url, name) for name in ("a", "b")]
    try:
        def send(served: Served, name: str) -> None:
            for n in range(15):
                post(served, f"{name}-{n}")

        threads = [threading.Thread(target=send, args=(s, n)) for s, n in zip(servers, "ab", strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_GUARD)
        pids = [s.proc.pid for s in servers]
    finally:
        for served in servers:
            served.close()
    rows = history(url, cwd=tmp_path)
    assert sorted(r["scaling_job_id"] for r in rows) == sorted(
        f"{name}-{n}" for name in "ab" for n in range(15))
    assert len({r["id"] for r in rows}) == 30
    assert {r["outcome"] for r in rows} == {"done"}
    host = rows[0]["server_host"]
    mine = history(url, "--instance", f"{host}:{pids[0]}", cwd=tmp_path)
    assert sorted(r["scaling_job_id"] for r in mine) == sorted(f"a-{n}" for n in range(15))
    # `history show` reads a row whichever server wrote it.
    other = next(r for r in rows if r["server_pid"] == pids[1])
    shown = run_tfhook(["history", "show", str(other["id"]), "--history-url", url], cwd=tmp_path)
    assert shown.returncode == 0 and f"server_pid: {pids[1]}" in shown.stdout, shown.stderr


@pytest.mark.slow
def test_postgres_restarted_under_load(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.database()
    served = serve(tmp_path, url, "a")
    sent: list[str] = []

    def down_call() -> bool:  # one more call while the database is down
        sent.append(f"down-{len(sent)}")
        answered.append(post(served, sent[-1])[-1])
        return "history write failed" in served.log()

    answered: list[int] = []
    try:
        assert post(served, "before")[-1] == pb.HandleResponse.DONE
        postgres.pause()
        try:
            wait_for(down_call, what="a lost write to be logged")
        finally:
            postgres.resume()
        wait_for(lambda: post(served, "after") and any(
            r["scaling_job_id"] == "after" for r in history(url, cwd=tmp_path)),
            what="writes to resume", every=0.25)  # a call and `tfhook history` each try
    finally:
        served.close()
    assert answered == [pb.HandleResponse.DONE] * len(sent)  # the loss never changes an answer
    log = served.log()
    assert log.count("history write failed") == 1, log  # logged once per outage
    [resumed] = [line for line in log.splitlines() if "history writes resumed" in line]
    failures = int(resumed.split("failures=")[1].split()[0])
    jobs = [r["scaling_job_id"] for r in history(url, cwd=tmp_path)]
    lost = [job for job in sent if job not in jobs]
    assert "before" in jobs and "after" in jobs and lost
    assert failures >= len(lost)  # every lost row counted (a start and its end each)


@pytest.mark.slow
def test_writes_resume_with_the_first_call_after_a_long_outage(postgres: Postgres,
                                                               tmp_path: Path) -> None:
    url = postgres.database()
    served = serve(tmp_path, url, "a")
    sent: list[str] = []

    def first_written() -> list[str]:  # one more call, then the calls since the restart written
        sent.append(f"after-{len(sent)}")
        post(served, sent[-1])
        return [r["scaling_job_id"] for r in reversed(history(url, cwd=tmp_path))
                if r["scaling_job_id"].startswith("after-")]

    try:
        assert post(served, "before")[-1] == pb.HandleResponse.DONE
        postgres.pause()
        try:
            wait_for(lambda: post(served, "down") and "history write failed" in served.log(),
                     what="a lost write to be logged")
            # Down long enough for a doubling reconnection delay to grow past 16 s (the pool's
            # own, uncapped): its next attempt would come long after the database is back.
            time.sleep(25)
        finally:
            postgres.resume()
        written = wait_for(first_written, what="writes to resume", every=0.25)
    finally:
        served.close()
    # The first call made after the restart has its row: writes resumed with it.
    assert written[0] == "after-0", (written, sent)
    assert "history writes resumed" in served.log()


def test_the_password_is_never_shown(postgres: Postgres, tmp_path: Path) -> None:
    bare = postgres.database()
    url = bare.replace("tfhook@", f"tfhook:{SECRET}@")  # trust auth: any password logs in
    served = serve(tmp_path, url, "a", PGPASSWORD=SECRET)
    try:
        post(served, "job")
        argv = Path(f"/proc/{served.proc.pid}/cmdline").read_bytes().decode()
    finally:
        served.close()
    assert "****" in served.log() and SECRET not in served.log()
    [warned] = [line for line in served.log().splitlines()
                if "history password on the command line" in line]
    assert "tfhook:****@" in warned, warned
    assert SECRET in argv  # (given in the URL here on purpose; PGPASSWORD needs no argv)
    with psycopg.connect(bare) as conn:
        dump = " ".join(str(row) for table in ("calls", "runs", "instances", "tfhook_schema")
                        for row in conn.execute(f"SELECT * FROM {table}"))
    assert "job" in dump and SECRET not in dump
    listed = run_tfhook(["history", "--history-url", url], cwd=tmp_path)
    assert listed.returncode == 0 and SECRET not in listed.stdout + listed.stderr
    assert os.environ.get("PGPASSWORD") is None


def test_an_older_tfhook_refuses_a_newer_schema(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.database()
    served = serve(tmp_path, url, "a")
    post(served, "job")
    served.close()
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO tfhook_schema (version) VALUES (99)")
    done = run_tfhook(["history", "--history-url", url], cwd=tmp_path)
    assert done.returncode == 2
    assert "has schema version 99; this tfhook knows versions up to 1" in done.stderr


def test_sqlite_history_refuses_a_newer_schema(tmp_path: Path) -> None:
    import asyncio
    import sqlite3

    from tfhook.history import DB_NAME, CallStart, History

    history = History(tmp_path, keep=86400.0)
    asyncio.run(history.call_started(CallStart(time=1000.0, phase="post-handle")))
    history.close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("SELECT max(version) FROM tfhook_schema").fetchone() == (2,)
        conn.execute("INSERT INTO tfhook_schema (version) VALUES (3)")
    done = run_tfhook(["history", "--state-dir", str(tmp_path)], cwd=tmp_path)
    assert done.returncode == 2
    assert "has schema version 3; this tfhook knows versions up to 2" in done.stderr
