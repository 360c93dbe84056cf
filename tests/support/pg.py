"""A real PostgreSQL server for the tests that keep a Terraform state in one (backend "pg").

`make tools` unpacks Debian's PostgreSQL packages into .tools/ (tests/support/tools.py), with
the programs in .tools/root/usr/lib/postgresql/N/bin; a host install (/usr/lib/postgresql/N/bin,
or PATH) is the fallback. The server runs from a temporary data directory, on a loopback
port, with its unix socket in that directory; as root it runs as the `postgres` user, since
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from support import tools

USER = "tfhook"  # the database superuser initdb creates; trust auth on loopback only


def bin_dir() -> Path | None:
    """Where initdb, pg_ctl and psql are: the private folder's, the host's newest Debian
    version, else PATH."""
    private = tools.newest("usr/lib/postgresql/*/bin/pg_ctl")
    if private is not None:
        return private.parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                    key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                    else 0)
    if debian:
        return debian[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def why_not() -> str | None:
    """Why a server cannot be started here, or None."""
    where = bin_dir()
    if where is None or not (where / "initdb").exists() or not (where / "psql").exists():
        return f"PostgreSQL is not installed (Debian's postgresql package; {tools.HINT})"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser(1) is missing to run PostgreSQL as `postgres`"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Postgres:
    """One running server; `conn` is the connection string Terraform's pg backend takes."""

    bin: Path
    home: Path
    port: int

    @property
    def conn(self) -> str:
        return f"postgres://{USER}@127.0.0.1:{self.port}/postgres?sslmode=disable"

    @classmethod
    def start(cls) -> Postgres:
        bin_ = bin_dir()
        assert bin_ is not None
        home = Path(tempfile.mkdtemp(prefix="tfhook-pg-"))
        server = cls(bin_, home, _free_port())
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(home, owner.pw_uid, owner.pw_gid)
        server._as_owner("initdb", "-D", str(home / "data"), "-A", "trust", "-U", USER,
                         "--no-sync", "-E", "UTF8", "--locale=C")
        for attempt in range(3):  # another process may take the free port first
            try:
                server._start()
                return server
            except RuntimeError:
                if attempt == 2:
                    shutil.rmtree(home, ignore_errors=True)
                    raise
                server.port = _free_port()
        raise AssertionError("unreachable")

    def _start(self) -> None:
        options = (f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._as_owner("pg_ctl", "-D", str(self.home / "data"), "-l", str(self.home / "log"),
                       "-o", options, "-w", "-t", "60", "start")

    def pause(self) -> None:
        """Stop the server and keep its data (`resume` starts it again, same port)."""
        self._as_owner("pg_ctl", "-D", str(self.home / "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._start()

    def database(self) -> str:
        """A new empty database; its URL (no password: trust on loopback)."""
        name = f"db_{uuid.uuid4().hex[:10]}"
        self.sql(f"CREATE DATABASE {name}")
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def stop(self) -> None:
        try:
            self._as_owner("pg_ctl", "-D", str(self.home / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def _as_owner(self, program: str, *args: str) -> None:
        argv = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        result = subprocess.run(argv, cwd=self.home, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=120, check=False,
                                env=tools.env())
        if result.returncode != 0:
            log = self.home / "log"
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stdout}"
                               f"{result.stderr}{log.read_text() if log.exists() else ''}")

    def psql_argv(self) -> list[str]:
        return [str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                self.conn]

    def sql(self, query: str) -> str:
        """Run SQL as the superuser; what it printed (unaligned, tuples only)."""
        result = subprocess.run([*self.psql_argv(), "-c", query], capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
                                env=tools.env())
        if result.returncode != 0:
            raise AssertionError(f"psql failed: {query}\n{result.stderr}")
        return result.stdout.strip()

    def hold(self, query: str) -> subprocess.Popen[str]:
        """A session that ran `query` (e.g. took a lock) and stays open until closed."""
        session = subprocess.Popen([*self.psql_argv()], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=tools.env())
        assert session.stdin is not None and session.stdout is not None
        session.stdin.write(f"{query};\nSELECT 'held';\n")
        session.stdin.flush()
        for line in session.stdout:
            if line.strip() == "held":
                return session
        raise AssertionError(f"the session ended: {session.stderr.read() if session.stderr else ''}")
