"""Server lifecycle: build the gRPC server, bind, serve until a signal, stop gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import _async as reflection_aio
from grpc_reflection.v1alpha import reflection, reflection_pb2

from tfhook import __version__, _reflection, address, table
from tfhook.config import Settings
from tfhook.errors import UserError
from tfhook.history import History
from tfhook.logs import LogSink
from tfhook.model import Phase, Sink
from tfhook.observe import Observer
from tfhook.pipeline import Pipeline
from tfhook.reload import Reloader
from tfhook.runners import OBSERVER, Shared
from tfhook.service import SERVICE, HandleService, add_to_server
from tfhook.wire import RECEIVE_LIMIT

log = structlog.get_logger("tfhook.server")


def _claim_socket_path(path: Path) -> None:
    """Remove a stale socket a dead server left; refuse to steal a live one."""
    if not os.path.lexists(path):
        if not path.parent.is_dir():
            raise UserError(f"--addr: directory {path.parent} does not exist")
        return
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise UserError(f"--addr: {path} exists and is not a socket; not replacing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        log.info("removing stale socket", path=str(path))
        path.unlink(missing_ok=True)
        return
    except OSError as exc:
        raise UserError(f"--addr: cannot check existing socket {path}: {exc}") from None
    finally:
        probe.close()
    raise UserError(f"--addr: another server is answering on {path}; stop it or choose another")


def _refuse_busy(target: str, addr: str) -> None:
    """Refuse an abstract name or TCP port someone listens on, in one clear line.

    gRPC reports it only as "Failed to bind" after printing its own log line.
    """
    if target.startswith("unix-abstract:"):
        candidates: list[tuple[int, str | tuple[Any, ...]]] = [
            (socket.AF_UNIX, "\0" + target[len("unix-abstract:"):])
        ]
    else:
        host, _, port = target.rpartition(":")
        try:
            infos = socket.getaddrinfo(host.strip("[]") or None, int(port),
                                       type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except (OSError, ValueError):
            return  # gRPC reports what it cannot resolve
        candidates = [(info[0], info[4]) for info in infos]
    failures: list[OSError] = []
    for family, sockaddr in candidates:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                if family != socket.AF_UNIX:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"--addr {addr}: address already in use") from None
            failures.append(exc)
    if candidates and len(failures) == len(candidates):
        # Nowhere to listen (an address this machine does not have, a privileged port…).
        raise UserError(f"--addr {addr}: cannot listen: {failures[0].strerror}")


def _private(path: Path) -> Path:
    """Where gRPC binds a socket before it is moved to `path`: short, this process's own."""
    private = path.parent / f".tfhook-{os.getpid()}.sock"
    if len(str(private).encode()) > address.SUN_PATH_MAX:
        return path  # no room for another name: bind the path itself
    private.unlink(missing_ok=True)  # a dead process with our pid left it
    return private


@contextlib.contextmanager
def _umask(mode: int) -> Iterator[None]:
    old = os.umask(0o777 & ~mode)
    try:
        yield
    finally:
        os.umask(old)


def build_sinks(settings: Settings, history: History | None = None) -> tuple[list[Sink], Observer]:
    """The observers every call is reported to, and the one that records calls and runs."""
    sinks: list[Sink] = [LogSink()]
    metrics = None
    if settings.exporter.enabled:
        # Imported only when asked for: prometheus_client slows every start-up (#9).
        from tfhook.metrics import MetricsSink, count_history_failures, serve_exporter

        metrics = MetricsSink()
        metrics.know((hook.name for hook in settings.hooks), (p.value for p in Phase))
        if history is not None:
            count_history_failures(metrics, lambda: history.failures)
        serve_exporter(settings.exporter.address, metrics)
        sinks.append(metrics)
    return sinks, Observer(history, metrics)


REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def _add_reflection_v1(names: tuple[str, ...], server: grpc.aio.Server, pool: Any) -> None:
    """Serve reflection v1 too. grpcio-reflection ships only v1alpha, whose messages are
    the same on the wire, so its servicer answers under the v1 name."""
    servicer = reflection_aio.ReflectionServicer(names, pool=pool)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )


class Server:
    """One tfhook server: pipeline, gRPC server, health, signals."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.address = address.parse(settings.addr)
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        self._stop = asyncio.Event()
        self._grpc: grpc.aio.Server | None = None
        self._socket_ino: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._shared: Shared = {}
        self.pipeline = Pipeline(table.Table((), {}), ())
        self.service = HandleService(self.pipeline)
        self.reloader = Reloader(settings, self.pipeline, self._shared)
        self._history: History | None = None
        if settings.state_dir is not None and settings.history_keep > 0:
            self._history = History(settings.state_dir, keep=settings.history_keep,
                                    requests=settings.history_requests)

    async def run(self) -> None:
        """Check, bind, serve until SIGTERM/SIGINT, then stop gracefully and clean up."""
        self._task = asyncio.current_task()
        # Signals are ours from the start: start-up may run Terraform (init, checks) for a
        # while, and a SIGTERM then must stop that child, not leave it behind.
        with self._signals():
            try:
                sinks, self.pipeline.observer = build_sinks(self.settings, self._history)
                self.pipeline.sinks = tuple(sinks)
                self._shared[OBSERVER] = self.pipeline.observer
                # Fail fast (a bad Terraform directory…) before binding.
                self.pipeline.table = await table.open_table(
                    self.settings, self.settings.hooks, self._shared, self.pipeline.background)
                await self._start()
                log.info("serving", addr=self.settings.addr, version=__version__,
                         **_describe(self.settings, self.pipeline.table),
                         history=str(self._history.path) if self._history else "off")
                await self._stop.wait()
                await self._shutdown()
            finally:
                if self._grpc is not None:
                    await asyncio.shield(self._grpc.stop(0))
                await self.reloader.close()
                self._remove_socket()
                if self._history is not None:
                    await asyncio.to_thread(self._history.close)
                if self._grpc is not None:  # a start-up failure is its one error line
                    log.info("stopped", calls_cut_short=self.cut_short)

    @property
    def cut_short(self) -> int:
        """How many calls were cut short at the end of --grace (answered UNAVAILABLE)."""
        return self.service.cut_short

    def stop(self) -> None:
        """Ask the server to stop (what SIGTERM does)."""
        self._stop.set()

    async def _start(self) -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0),
                                          ("grpc.max_receive_message_length", RECEIVE_LIMIT)])
        add_to_server(self.service, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = (SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                 reflection.SERVICE_NAME, REFLECTION_V1)
        pool: Any = _reflection.LazyPool()  # duck-types a DescriptorPool; see _reflection
        reflection.enable_server_reflection(names, server, pool=pool)
        _add_reflection_v1(names, server, pool)
        self._bind(server)
        await server.start()
        self._grpc = server
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
        if address.exposed(self.address):
            log.warning("listening beyond this machine: nothing authenticates callers, and "
                        "anyone who reaches this port runs the hooks; prefer a unix socket "
                        "(see Security in the README)", addr=self.settings.addr)

    def _bind(self, server: grpc.aio.Server) -> None:
        path = self.address.path
        if path is not None:
            _claim_socket_path(path)
        else:
            _refuse_busy(self.address.target, self.settings.addr)
        private = None if path is None else _private(path)
        target = self.address.target if private is None else f"unix:{private}"
        try:
            with _umask(self.settings.socket_mode):
                port = server.add_insecure_port(target)
            if path is not None and private is not None:
                # gRPC removes the path it bound when it stops, whoever's socket is there
                # by then: it binds a private name, moved into place, so that tfhook alone
                # decides (see _remove_socket).
                os.rename(private, path)
        except (RuntimeError, OSError) as exc:
            raise UserError(f"--addr {self.settings.addr}: cannot listen: {exc}") from None
        if port == 0 and path is None:
            raise UserError(f"--addr {self.settings.addr}: cannot listen (address in use?)")
        if path is not None:
            os.chmod(path, self.settings.socket_mode)
            self._socket_ino = os.stat(path).st_ino

    async def _shutdown(self) -> None:
        log.info("stopping", grace=self.settings.grace)
        await self.health.enter_graceful_shutdown()
        if self._grpc is None:
            return
        # gRPC refuses new calls from now on; those in progress get --grace to finish. Then
        # tfhook ends them itself, each with UNAVAILABLE saying why, not gRPC's bare
        # "Cancelling all calls". Stopping their hooks takes up to kill_after more.
        stopping = asyncio.ensure_future(
            self._grpc.stop(self.settings.grace + self.reloader.kill_after() + 5))
        calls = {call for t in self.reloader.tables() for call in t.calls}
        if calls:
            await asyncio.wait(calls, timeout=self.settings.grace)
        self.service.cut()
        await self.pipeline.wait_idle(self.reloader.tables(), self.reloader.kill_after() + 1)
        await self._grpc.stop(0)
        await stopping

    def _remove_socket(self) -> None:
        path = self.address.path
        if path is None or self._socket_ino is None:
            return
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == self._socket_ino:  # only our own socket
                path.unlink()

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
        if self._grpc is None or self._stop.is_set():
            log.info("SIGHUP ignored: not serving", signal="SIGHUP")
            return
        self.reloader.request()

    def _on_signal(self, sig: int) -> None:
        # Act first, log after: nothing may keep a signal from stopping the server.
        name = signal.Signals(sig).name
        if self._task is not None and (self._stop.is_set() or self._grpc is None):
            # A second signal, or one during start-up: nothing to drain, stop now.
            self._task.cancel()
            log.warning("stopping now", signal=name)
            return
        self.stop()
        log.info("signal received", signal=name)


def _describe(settings: Settings, served: table.Table) -> dict[str, str]:
    """The start-up line's mode or routes, Terraform directories and engines."""
    hooks = settings.hooks
    kinds = sorted({hook.kind for hook in hooks})
    directories = {str(getattr(hook.action, "dir", "")): hook.name for hook in hooks
                   if hook.kind == "terraform"}
    engines = {runner.directory.target.engine.describe()
               for runner in served.runners.values() if hasattr(runner, "directory")}
    found = {"mode": kinds[0] if len(kinds) == 1 else "routes",
             "routes": ",".join(hook.name for hook in hooks)}
    if directories:
        found["dirs"] = ",".join(directories)
        found["engine"] = ",".join(sorted(engines))
    return found


def run(settings: Settings) -> None:
    """Serve until stopped. A second signal during shutdown ends it at once."""
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(Server(settings).run())
