"""Schema versions of the history (both stores): a table holds the version a database has,
and a tfhook that knows an older one refuses it rather than write rows it cannot shape."""

from __future__ import annotations

from tfhook.errors import UserError

TABLE = "tfhook_schema"


class SchemaTooNew(UserError):
    """The database was made or upgraded by a newer tfhook."""


def check(found: int | None, known: int, where: str) -> None:
    """Refuse a database whose schema is newer than `known`."""
    if found is not None and found > known:
        raise SchemaTooNew(
            f"the history {where} has schema version {found}; this tfhook knows versions up "
            f"to {known}: upgrade tfhook (a newer one wrote it), or point it at another history")
