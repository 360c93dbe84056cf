"""Warm providers (#25): each provider of a directory started once with `-debug` and kept
running; every engine command of the directory's runs reattaches to it
(TF_REATTACH_PROVIDERS) instead of starting the provider again.

A provider is a child like any other (the process layer: its own group, the watchdog stops
it if tfhook dies). It is started again when it died, after a run it served was interrupted
(Terraform then sent it StopProvider), when the lock file changed (`terraform init`), and
on SIGHUP (its environment, credentials included, is fixed when it starts); stopped when
its directory leaves the routes. A provider that does not offer `-debug` leaves the whole
directory as it was without warm providers, with one log line saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import structlog

from tfhook.core.hooks import Limits, TerraformAction
from tfhook.errors import ActionTimeout
from tfhook.process import spawn as process
from tfhook.terraform import providers
from tfhook.terraform.refresh import Target

log = structlog.get_logger("tfhook.terraform")

REATTACH = "TF_REATTACH_PROVIDERS"
START_TIMEOUT = 60.0  # seconds for a provider to print its reattach line
_FOREVER = 10.0 * 365 * 24 * 3600  # a provider's "timeout": it runs until it is stopped


class NoDebug(Exception):
    """A provider did not give a reattach line: it does not offer `-debug`."""


class Provider:
    """One provider child started with `-debug`, and the reattach value it printed."""

    def __init__(self, binary: providers.Binary, where: Path, env: Mapping[str, str],
                 limits: Limits) -> None:
        self.binary = binary
        self.spec = process.Spec(
            argv=[str(binary.path), "-debug"], name=f"provider {binary.source} for {where}",
            env=env, cwd=where, limits=replace(limits, timeout=_FOREVER),
            stop_signal=signal.SIGINT)  # Go's debug mode stops on an interrupt
        self.reattach: asyncio.Future[dict[str, object]] = (
            asyncio.get_running_loop().create_future())
        self._child: process.Child | None = None
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            async with process.Child(self.spec) as child:
                self._child = child
                async for line in child.lines():
                    if not self.reattach.done():
                        value = reattach_value(line)
                        if value is not None:
                            self.reattach.set_result(value)
                exit_ = await child.wait()
        except BaseException as exc:
            if not self.reattach.done():
                self.reattach.set_exception(NoDebug(str(exc) or "it was stopped"))
            raise
        if not self.reattach.done():
            tail = exit_.stderr_tail(lines=2, limit=300).replace("\n", " ")
            self.reattach.set_exception(NoDebug(f"`{self.binary.path.name} -debug` ended "
                                                f"({exit_.describe()}) without a reattach "
                                                f"line{': ' + tail if tail else ''}"))

    async def started(self) -> dict[str, object]:
        """Its reattach value, once printed; raises NoDebug."""
        try:
            async with asyncio.timeout(START_TIMEOUT):
                return await asyncio.shield(self.reattach)
        except TimeoutError:
            raise NoDebug(f"no reattach line within {START_TIMEOUT:g}s of "
                          f"`{self.binary.path.name} -debug`") from None

    @property
    def alive(self) -> bool:
        """Our child runs, and so does every process its reattach value names (Terraform
        looks for that pid: a provider started through a wrapper is a grandchild, dead
        a moment before the wrapper exits)."""
        if self.task.done() or (self._child is not None and self._child.exited):
            return False
        value = self.reattach.result() if self.reattach.done() and \
            not self.reattach.cancelled() and self.reattach.exception() is None else {}
        return all(_running(entry.get("Pid")) for entry in value.values()
                   if isinstance(entry, dict))

    async def stop(self) -> None:
        """Stop it (its group: interrupt, then SIGKILL as its limits say) and reap it."""
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task
        if self.reattach.done() and not self.reattach.cancelled():
            self.reattach.exception()  # seen: asyncio would log it as never retrieved


def _running(pid: object) -> bool:
    """Whether `pid` (a reattach value's Pid; not a number: not checked) is a live process,
    not a zombie."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: whether a signal can reach it
        with contextlib.suppress(PermissionError):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
        return True
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def reattach_value(line: bytes) -> dict[str, object] | None:
    """The value of go-plugin's `TF_REATTACH_PROVIDERS='{...}'` line, or None."""
    text = line.decode("utf-8", "replace").strip()
    if not text.startswith(REATTACH + "="):
        return None
    try:
        value = json.loads(text.partition("=")[2].strip().strip("'"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Providers:
    """A directory's warm providers: started at its first run, restarted as needed."""

    def __init__(self, action: TerraformAction, env: Mapping[str, str], limits: Limits
                 ) -> None:
        self.where = action.dir
        self.on = action.warm_providers != "off"
        self.base = env  # the directory's environment, without warm providers
        self.limits = limits  # the hook's: the wait between the interrupt and SIGKILL
        self._running: list[Provider] = []
        self._value: dict[str, object] = {}
        self._lock_file: bytes | None = None
        self._stale = False
        self._cold = ""  # why this directory runs without warm providers
        self._mutex = asyncio.Lock()

    async def warm(self, target: Target) -> Target:
        """`target` running its commands with the warm providers (started if need be); with
        the directory's own environment when nothing is warm."""
        if not self.on:
            return target
        async with self._mutex:
            for dead in [p for p in self._running if not p.alive]:
                log.warning("warm provider exited; starting it again", dir=str(self.where),
                            provider=dead.binary.source)
                self._stale = True
            if self._stale or providers.lock_text(self.where) != self._lock_file:
                await self._stop()
            if not self._running and not self._cold:
                await self._start(self.base)
        return replace(target, env=self.env(self.base))

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with the warm providers' reattach values added to any it already has."""
        if not self._value:
            return dict(base)
        given = _given(base)
        return {**base, REATTACH: json.dumps({**self._value, **given}, separators=(",", ":"))}

    def after(self, exc: BaseException) -> None:
        """A run ended with `exc`: interrupted (Terraform sent its providers StopProvider)
        or timed out, its providers are started again for the next run."""
        if isinstance(exc, asyncio.CancelledError | ActionTimeout):
            self.restart()

    def restart(self) -> None:
        """SIGHUP, an interrupted run: new providers for the next run (and try -debug again)."""
        self._stale, self._cold = True, ""

    async def close(self) -> None:
        """The directory left the routes: stop its providers."""
        self.on = False
        async with self._mutex:
            await self._stop()

    async def _start(self, base: Mapping[str, str]) -> None:
        self._lock_file, self._stale = providers.lock_text(self.where), False
        given = _given(base)
        found = [b for b in providers.find(self.where, base) if b.source not in given]
        self._running = [Provider(b, self.where, base, self.limits) for b in found]
        try:
            for provider in self._running:
                self._value.update(await provider.started())
        except NoDebug as exc:
            self._cold = str(exc)
            log.warning("providers not kept warm in this directory: Terraform starts them "
                        "for each command", dir=str(self.where), reason=self._cold)
            await self._stop()
            return
        if found:
            log.info("warm providers started", dir=str(self.where),
                     providers=",".join(b.source for b in found))

    async def _stop(self) -> None:
        running, self._running, self._value = self._running, [], {}
        await asyncio.gather(*(p.stop() for p in running))


def _given(base: Mapping[str, str]) -> dict[str, object]:
    """Reattach values the environment already has: those providers are left to it."""
    try:
        value = json.loads(base.get(REATTACH) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
