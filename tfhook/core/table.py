"""The hooks in force and their runners: made, started, swapped on reload and closed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tfhook.config.settings import Settings
from tfhook.core.hooks import Hook
from tfhook.runners import RUNNERS, Background, Runner, Shared


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


async def open_table(settings: Settings, hooks: tuple[Hook, ...], shared: Shared,
                     background: Background) -> Table:
    """Make a runner per hook and start each (start-up checks); on failure close them all.

    Args:
        settings: the server's settings.
        hooks: the hooks, in file order.
        shared: state runners share across tables (one Terraform directory per directory).
        background: how runners ask for background runs through the pipeline.

    Returns:
        The started table.
    """
    runners: dict[str, Runner] = {}
    try:  # a runner made is a user of a shared directory: close it again on any failure
        for hook in hooks:
            runners[hook.name] = RUNNERS[hook.kind](hook, settings, shared)
        for runner in runners.values():
            await runner.start(background)
    except BaseException:
        await close(Table(hooks, runners))
        raise
    return Table(hooks, runners, settings.announce_unmatched)


async def close(table: Table) -> None:
    """Close every runner (a Terraform directory closes when its last hook does)."""
    for runner in table.runners.values():
        await runner.close()


async def retire(table: Table) -> None:
    """Close a table once the calls that started on it have finished."""
    await table.idle()
    await close(table)
