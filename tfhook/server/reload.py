"""SIGHUP: re-read the routes file; a valid one applies to new calls, an invalid one is
logged with every problem and changes nothing. Calls in flight finish on their routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import structlog

from tfhook.config import routes_file as routes
from tfhook.config.settings import Settings
from tfhook.core import hooks, table
from tfhook.core.pipeline import Pipeline
from tfhook.errors import TfhookError
from tfhook.runners import RunnerContext, open_table

log = structlog.get_logger("tfhook.reload")


class Reloader:
    """Swaps the pipeline's table when the routes file changes; closes the tables it owns."""

    def __init__(self, settings: Settings, pipeline: Pipeline, context: RunnerContext,
                 announce: Callable[[], AbstractAsyncContextManager[object]] = contextlib.nullcontext
                 ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.context = context
        self._lock = asyncio.Lock()
        self._retiring: set[table.Table] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # What each reload is wrapped in: systemd is told RELOADING=1, then READY=1 (#24).
        self.announce = announce

    def request(self) -> None:
        """What SIGHUP does."""
        if self.settings.routes_file is None:
            log.info("SIGHUP received: no routes file (serve --routes FILE); nothing changes")
            return
        self._spawn(self._reload(self.settings.routes_file))

    async def _reload(self, path: Path) -> None:
        async with self._lock, self.announce():  # one reload at a time, in the order asked
            try:
                # (imported here: a server without a routes file never needs it)
                from tfhook.terraform.probes import probes

                hooks = routes.load(path, self.settings.limits, probes(self.settings.env))
                new = await open_table(self.context, hooks)
            except TfhookError as exc:
                problems = [line for line in str(exc).splitlines() if line.strip()]
                log.error("routes file not reloaded; the old routes stay", file=str(path),
                          problems=len(problems))
                for problem in problems:
                    log.error("routes file problem", problem=problem)
                return
            old, self.pipeline.table = self.pipeline.table, new
            log.info("routes reloaded", file=str(path),
                     routes=",".join(hook.name for hook in hooks))
            self._retiring.add(old)
            self._spawn(self._retire(old))

    async def _retire(self, old: table.Table) -> None:
        try:
            await table.retire(old)
        finally:
            self._retiring.discard(old)

    def tables(self) -> list[table.Table]:
        """The table in force and those whose calls are still finishing."""
        return [self.pipeline.table, *self._retiring]

    def stop_time(self) -> float:
        """The longest any hook of any table may take to stop."""
        return hooks.stop_time(hook for t in self.tables() for hook in t.hooks)

    async def close(self) -> None:
        """Stop: no more reloads; close every table now."""
        tables = self.tables()  # before cancelling: a cancelled retirement forgets its table
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        for old in tables:
            await table.close(old)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
