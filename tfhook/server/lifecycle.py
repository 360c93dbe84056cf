"""Server lifecycle: build the gRPC server, bind, serve until a signal, stop gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tfhook import __version__
from tfhook.config import address
from tfhook.config.settings import Settings
from tfhook.core import table
from tfhook.core.hooks import Hook
from tfhook.core.model import Phase
from tfhook.core.observer import Observer, Observers
from tfhook.core.pipeline import Pipeline
from tfhook.history import Recorder
from tfhook.observe.logs import LogSink
from tfhook.process import rlimit
from tfhook.runners import RunnerContext, open_table
from tfhook.runners.decisions import Decider
from tfhook.server import admin, announce, historian, notifying, reflection, systemd, tracing
from tfhook.server.intake import Intake
from tfhook.server.listen import Listener
from tfhook.server.reload import Reloader
from tfhook.server.service import SERVICE, HandleService, add_to_server
from tfhook.server.wire import RECEIVE_LIMIT

if TYPE_CHECKING:
    from tfhook.observe.metrics import MetricsSink

log = structlog.get_logger("tfhook.server")
FORCED_WAIT = 1.0  # seconds calls a second signal cut short get to stop and record why


def build_observer(settings: Settings, history: Recorder | None = None,
                   hooks: Callable[[], Iterable[Hook]] | None = None, *more: Observer
                   ) -> tuple[Observers, MetricsSink | None]:
    """Every observer of calls and runs, behind one: the log, the metrics (when exported;
    `serve_exporter` serves them), the history (when kept); and the metrics. The history
    goes last: it is the one that waits (for its rows on disk)."""
    observers: list[Observer] = [LogSink(), *tracing.observers(settings.env, SERVICE), *more]
    metrics = None
    if settings.exporter.enabled:
        # Imported only when asked for: prometheus_client slows every start-up (#9).
        from tfhook.observe.metrics import MetricsSink, count_history_failures

        metrics = MetricsSink()
        metrics.know(settings.hooks, (p.value for p in Phase))
        if history is not None:
            count_history_failures(metrics, lambda: history.failures, lambda: history.late)
        observers.append(metrics)
    observers += notifying.observers(settings, metrics, hooks or (lambda: settings.hooks))
    if history is not None:
        from tfhook.observe.history_sink import HistorySink

        observers.append(HistorySink(history))
    return Observers(observers), metrics


@dataclass(frozen=True, slots=True)
class Served:
    """The pipeline, made once its table is open and complete then, and what serves it."""

    pipeline: Pipeline
    service: HandleService
    reloader: Reloader


class Server:
    """One tfhook server: pipeline, gRPC server, health, signals."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.listener = Listener(settings)
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        self._stop = asyncio.Event()
        self._grpc: grpc.aio.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._forced = False  # a second signal: stop at once
        self._history: Recorder | None = historian.open_history(settings)
        self.systemd = systemd.Notifier(settings.env)  # told when ready, reloading, stopping
        self.observer, self._metrics = build_observer(settings, self._history, self._hooks,
                                                      self.systemd)
        self.context = RunnerContext(settings, self.observer)
        self.served: Served | None = None  # once the hooks' table is open
        self.decisions = Decider(self.context)
        self.admin_endpoint = admin.Endpoint(admin.AdminService(self.decisions), self.listener,
                                             None if settings.admin_addr is None
                                             else Listener(settings, "admin_addr"))
        if self._metrics is not None:
            from tfhook.observe.metrics import count_held

            count_held(self._metrics, lambda: len(self.decisions.held()))

    def _hooks(self) -> Iterable[Hook]:
        """The hooks in force: the served table's (a reload swaps it), else the settings'."""
        return self.settings.hooks if self.served is None else self.served.pipeline.table.hooks

    def _serve(self, opened: table.Table) -> Served:
        """The pipeline on the table just opened, its service and its reloader."""
        pipeline = Pipeline(opened, self.observer)
        self.served = Served(pipeline, HandleService(pipeline, Intake(
            self.settings.max_conversion_memory)), Reloader(self.settings, pipeline, self.context,
                                                            self.systemd.reloading))
        return self.served

    async def run(self) -> None:
        """Check, bind, serve until SIGTERM/SIGINT, then stop gracefully and clean up."""
        self._task = asyncio.current_task()
        # Signals are ours from the start: start-up may run Terraform (init, checks) for a
        # while, and a SIGTERM then must stop that child, not leave it behind.
        with self._signals():
            try:
                open_files = rlimit.raise_open_files()
                self._serve_metrics()
                # Fail fast (a bad Terraform directory…) before binding.
                served = self._serve(await open_table(self.context, self.settings.hooks))
                await self._start(served.service)
                found = _describe(self.settings, self.context)
                log.info("serving", addr=self.settings.addr, version=__version__, **found,
                         history=str(self._history.path) if self._history else "off",
                         open_files=open_files, max_connection_idle=_idle(self.settings),
                         admin=self.admin_endpoint.where)
                announce.serving(found, self.settings.addr, self.context, self._metrics,
                                 self.systemd)
                await self._stop.wait()
                await self._shutdown(served)
            finally:
                if self._grpc is not None:
                    # Calls a second signal cut short unwind first and record why, for up to
                    # FORCED_WAIT: gRPC's stop cancels them again, without saying why, and
                    # what is left then is killed at once.
                    await self._idle(FORCED_WAIT if self._forced else None)
                    await asyncio.shield(self._grpc.stop(0))
                await self.admin_endpoint.stop(0)
                if self.served is not None:
                    await self.served.reloader.close()
                self.listener.remove()
                # Calls record how they ended before the history closes.
                await self._idle(FORCED_WAIT if self._forced else None)
                if self._history is not None:
                    await asyncio.to_thread(self._history.close)
                await self.systemd.close()
                if self._grpc is not None:  # a start-up failure is its one error line
                    log.info("stopped", calls_cut_short=self.cut_short)

    def _serve_metrics(self) -> None:
        if self._metrics is not None:
            from tfhook.observe.metrics import serve_exporter

            serve_exporter(self.settings.exporter.address, self._metrics)

    async def _idle(self, limit: float | None = None) -> None:
        if self.served is None:  # start-up failed before the table opened: no calls came
            return
        reloader = self.served.reloader
        await self.served.pipeline.wait_idle(reloader.tables(), reloader.stop_time() + 1
                                             if limit is None else limit)

    @property
    def cut_short(self) -> int:
        """How many calls were cut short at the end of --grace (answered UNAVAILABLE)."""
        return 0 if self.served is None else self.served.service.cut_short

    def stop(self) -> None:
        """Ask the server to stop (what SIGTERM does)."""
        self._stop.set()

    async def _start(self, service: HandleService) -> None:
        options: list[tuple[str, int]] = [("grpc.so_reuseport", 0),
                                          ("grpc.max_receive_message_length", RECEIVE_LIMIT)]
        if self.settings.max_connection_idle > 0:
            # Each connection holds a descriptor: one no call uses is closed (a GOAWAY, which
            # a client's channel answers by reconnecting when it next calls).
            idle_ms = max(int(self.settings.max_connection_idle * 1000), 1)
            options.append(("grpc.max_connection_idle_ms", idle_ms))
        server = grpc.aio.server(options=options)
        add_to_server(service, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable(
            server, (SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name))
        self.listener.bind(server)
        self.admin_endpoint.attach(server)
        await server.start()
        self._grpc = server
        await self.admin_endpoint.start(options, self.health)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
        if address.exposed(self.listener.address):
            log.warning("listening beyond this machine: nothing authenticates callers, and "
                        "anyone who reaches this port runs the hooks; prefer a unix socket "
                        "(see docs/how-to/security.md)", addr=self.settings.addr)
        if address.abstract(self.listener.address):
            log.warning("listening on an abstract socket: it has no file mode, so any user on "
                        "this machine can connect and run the hooks; prefer unix:PATH "
                        "(see docs/how-to/security.md)", addr=self.settings.addr)

    async def _shutdown(self, served: Served) -> None:
        self.systemd.stopping()
        log.info("stopping", grace=self.settings.grace)
        await self.health.enter_graceful_shutdown()
        if self._grpc is None:
            return
        # gRPC refuses new calls from now on; those in progress get --grace to finish. Then
        # tfhook ends them itself, each with UNAVAILABLE saying why, not gRPC's bare
        # "Cancelling all calls". Stopping their hooks takes up to their stop time more.
        stopping = asyncio.ensure_future(
            self._grpc.stop(self.settings.grace + served.reloader.stop_time() + 5))
        admin_stopping = asyncio.ensure_future(self.admin_endpoint.stop(self.settings.grace))
        calls = {call for t in served.reloader.tables() for call in t.calls}
        if calls:
            await asyncio.wait(calls, timeout=self.settings.grace)
        served.service.cut()
        await self._idle()
        await self._grpc.stop(0)
        await stopping
        await admin_stopping

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self._on_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_hangup)
        try:
            yield
        finally:
            for sig in (*signals, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def _on_hangup(self) -> None:
        if self._grpc is None or self._stop.is_set() or self.served is None:
            log.info("SIGHUP ignored: not serving", signal="SIGHUP")
            return
        for directory in self.context.directories.values():  # credentials anew (#25)
            directory.providers.restart()
        self.served.reloader.request()

    def _on_signal(self, sig: int) -> None:
        # Act first, log after: nothing may keep a signal from stopping the server.
        name = signal.Signals(sig).name
        if self._task is not None and (self._stop.is_set() or self._grpc is None):
            # A second signal, or one during start-up: nothing to drain, stop now. The calls
            # are ended first, each saying that the server cut it short (not its client).
            if self.served is not None:
                self.served.service.cut(f"stopped at once by a second {name}")
            self._forced = True
            self._task.cancel()
            log.warning("stopping now", signal=name)
            return
        self.stop()
        log.info("signal received", signal=name)


def _idle(settings: Settings) -> str:
    """The start-up line's max_connection_idle: how long an unused connection is kept."""
    seconds = settings.max_connection_idle
    return "never closed" if seconds <= 0 else f"{seconds:g}s"


def _describe(settings: Settings, context: RunnerContext) -> dict[str, str]:
    """The start-up line's mode or routes, Terraform directories and engines."""
    hooks = settings.hooks
    kinds = sorted({hook.kind for hook in hooks})
    directories = {str(getattr(hook.action, "dir", "")): hook.name for hook in hooks
                   if hook.kind == "terraform"}
    engines = {directory.target.engine.describe()
               for directory in context.directories.values() if not directory.closed}
    found = {"mode": kinds[0] if len(kinds) == 1 else "routes",
             "routes": ",".join(hook.name for hook in hooks)}
    full = [hook.name for hook in hooks if getattr(hook.action, "payload_argv", "") == "full"]
    if full:  # argv[1] is the whole request: any local user reads its secrets in `ps`
        found["payload_argv_full"] = ",".join(full)
    if directories:
        found["dirs"] = ",".join(directories)
        found["engine"] = ",".join(sorted(engines))
    return found


def run(settings: Settings) -> None:
    """Serve until stopped. A second signal during shutdown ends it at once."""
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(Server(settings).run())
