"""The hooks in force and their runners: swapped whole on reload, closed when retired."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tfhook.core.hooks import Hook
from tfhook.core.model import Action, Update


class Runner(Protocol):
    """Runs one hook's actions; yields progress, ends with a DONE, or raises a TfhookError."""

    def run(self, action: Action) -> AsyncIterator[Update]: ...

    async def start(self) -> None:
        """Called once before the runner serves (checks, start-up refresh)."""

    async def close(self) -> None:
        """Called once when the runner is no longer used (server stop, reload)."""


@dataclass(eq=False)
class Table:
    """The hooks in force and their runners. A reload swaps the whole table: calls that
    started on the old one finish on it."""

    hooks: tuple[Hook, ...]
    runners: Mapping[str, Runner]
    announce_unmatched: bool = True
    calls: set[asyncio.Task[Any]] = field(default_factory=set)

    async def idle(self) -> None:
        """Wait until no call runs on this table."""
        while self.calls:
            await asyncio.wait(set(self.calls))


async def close(table: Table) -> None:
    """Close every runner (a Terraform directory closes when its last hook does)."""
    for runner in table.runners.values():
        await runner.close()


async def retire(table: Table) -> None:
    """Close a table once the calls that started on it have finished."""
    await table.idle()
    await close(table)
