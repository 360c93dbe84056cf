"""Reading a fleet's history in PostgreSQL (#24) with query.py's filters and tables.

`Reading` stands where query.py takes a SQLite connection: its `execute` takes the same SQL
(`?` marks), and `alive` tells a running row from an `unfinished` one by its instance's
heartbeat, which any host can read.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from tfhook.errors import UserError
from tfhook.history import dsn, pgstore, versions

STALE = 3  # heartbeats an instance may miss before its unfinished rows are `unfinished`


class Reading:
    """A read-only PostgreSQL session shaped as query.py's connection."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        now = time.time()
        self._live = {(host, pid, start) for host, pid, start in _Tuples(conn).execute(
            "SELECT host, pid, start FROM instances WHERE stopped IS NULL"
            " AND heartbeat >= %s - %s * every", (now, STALE)).fetchall()}

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), args)

    def alive(self, row: dict[str, Any]) -> bool:
        return (row.get("server_host"), row.get("server_pid"), row.get("server_start")) in self._live


@contextlib.contextmanager
def reading(url: str) -> Iterator[Reading]:
    """The fleet's history for the block, read-only; a UserError when it cannot be read."""
    try:
        import psycopg
        from psycopg.rows import dict_row
    except ImportError:
        raise UserError("a PostgreSQL history needs its driver: "
                        "pip install 'tfhook[postgres]'") from None
    try:
        conn = psycopg.connect(url, connect_timeout=10, row_factory=dict_row, autocommit=True,
                               application_name="tfhook history")
    except psycopg.Error as exc:
        raise UserError(f"cannot read the history {dsn.mask(url)}: "
                        f"{dsn.scrub(str(exc).strip(), url)}") from None
    with conn:
        found = pgstore.version(_Tuples(conn))
        if found is None:
            raise UserError(f"no history in {dsn.mask(url)} (a server given this URL "
                            "makes it)")
        versions.check(found, pgstore.VERSION, dsn.mask(url))
        yield Reading(conn)


class _Tuples:
    """The connection with rows as tuples (for the version and the heartbeats)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self._conn.cursor(row_factory=_tuple_row).execute(sql, args)


def _tuple_row(cursor: Any) -> Any:
    from psycopg.rows import tuple_row

    return tuple_row(cursor)
