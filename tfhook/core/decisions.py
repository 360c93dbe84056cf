"""What an operator decides on a running server: held runs to approve or deny, and a rollback.

The server's admin service (tfhook.server) turns its requests into calls on `Decisions`; the
Terraform directories (tfhook.terraform) implement it. Core owns only the shapes, so neither
side imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tfhook.errors import TfhookError


class Refused(TfhookError):
    """The server refused the decision: no such run, already decided, or a stale plan that
    now changes something else (`tfhook runs approve` exits 1 with this message)."""


@dataclass(frozen=True, slots=True)
class HeldRun:
    """A plan kept for an operator to decide, as `tfhook runs held` shows it."""

    run: int  # the history's run id (run-N)
    route: str
    directory: str
    instance: str  # the server that made and keeps it (host, pid, start time)
    held_at: float  # unix time
    reason: str  # why it was held: "unexplained drift", "refused removals"
    changes: tuple[str, ...]  # what applying it would change, one line each


@dataclass(frozen=True, slots=True)
class Who:
    """Who decided: the calling user's name as the client reports it, and how it reached us."""

    user: str
    peer: str = ""


class Decisions(Protocol):
    """Decisions a running server takes on behalf of an operator."""

    def held(self) -> list[HeldRun]:
        """Every held run this server keeps, oldest first."""
        ...

    async def approve(self, run: int, who: Who) -> str:
        """Apply exactly the held plan of `run` under its directory's single flight; the
        answer says what was applied. Raises Refused (see there)."""
        ...

    async def deny(self, run: int, who: Who) -> str:
        """Discard the held plan of `run`. Raises Refused."""
        ...

    async def rollback(self, directory: str, run: int, who: Who, *, apply: bool) -> str:
        """The difference between the directory's state and the snapshot saved before `run`;
        with `apply`, push the snapshot back (as a run of its own, with a snapshot).
        Raises Refused."""
        ...
