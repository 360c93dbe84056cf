"""The PostgreSQL page's steps, run against a private PostgreSQL (tests/support/pg.py): the
role and database it creates are enough for Terraform's pg backend and for `tfhook serve`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from session import page_session
from shell import ROOT
from support import pg

PAGE = ROOT / "docs" / "how-to" / "postgresql.md"
DEMO_PG = ROOT / "examples" / "terraform" / "demo-pg"
PASSWORD = "a-password"  # what --pwprompt would ask for


def _blocks() -> list[str]:
    """The page's sh blocks, each with its `# not run` line: the tests run them here."""
    return re.findall(r"^```sh\n(.*?)^```", PAGE.read_text(), re.S | re.M)


def _create(server: pg.Postgres, line: str) -> None:
    """`sudo -u postgres createuser|createdb ...` against the private server, as its
    superuser; --pwprompt's answer is set with ALTER ROLE."""
    words = shlex.split(line.split("#")[0])[3:]  # without `sudo -u postgres`
    prompt = "--pwprompt" in words
    words = [word for word in words if word != "--pwprompt"]
    argv = [str(server.bin / words[0]), "-h", "127.0.0.1", "-p", str(server.port),
            "-U", pg.USER, *words[1:]]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    if prompt:
        server.sql(f"ALTER ROLE {words[-1]} PASSWORD '{PASSWORD}'")


def _conn_str(block: str, server: pg.Postgres) -> str:
    """The page's PG_CONN_STR, pointed at the private server (which has no TLS)."""
    shown = re.search(r'export PG_CONN_STR="(.*)"', block)
    assert shown, block
    return (shown.group(1).replace("PASSWORD", PASSWORD)
            .replace("db.example:5432", f"127.0.0.1:{server.port}")
            .replace("sslmode=require", "sslmode=disable"))


def _sql(server: pg.Postgres, database: str, query: str) -> str:
    argv = [str(server.bin / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
            "127.0.0.1", "-p", str(server.port), "-U", pg.USER, "-d", database, "-c", query]
    return subprocess.run(argv, check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()


def test_the_role_and_database_steps_serve_a_pg_state(monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = Path(os.environ["TMPDIR"])  # short: the server's socket is made there
    if reason := pg.why_not():
        pytest.skip(reason)
    monkeypatch.setattr(pg, "USER", "admin")  # the page's role is `tfhook`: keep it free
    server = pg.Postgres.start()
    try:
        create, serve = _blocks()
        for line in create.splitlines():
            if line.startswith("sudo -u postgres create"):
                _create(server, line)
        assert server.sql("SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles "
                          "WHERE rolname = 'tfhook'") == "f"  # a role with no other right
        monkeypatch.setenv("PG_CONN_STR", _conn_str(serve, server))
        shutil.copytree(DEMO_PG, cwd / "infra")
        with page_session(cwd) as page:
            for line in serve.splitlines():
                if line.startswith("tfhook"):
                    page.run(line)
            assert page.server is not None and "event=serving" in page.log()
        # The backend made its schema and table in the page's database, as the role.
        assert _sql(server, "terraform", "SELECT tableowner, tablename FROM pg_tables WHERE "
                    "schemaname = 'terraform_remote_state'") == "tfhook|states"
    finally:
        server.stop()
