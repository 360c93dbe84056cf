"""Generic mode: latency and throughput beside two floors (the same hook without tfhook)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from bench.common import (
    QUICK,
    CoreClient,
    Served,
    cpu_by_thread,
    median,
    percentile,
    request,
    rss_mib,
    timed,
    write_hook,
)
from tfhook.core import gojson
from tfhook.v1 import handler_pb2 as pb
from tfhook.v1 import handler_pb2_grpc

ROUNDS = 3 if QUICK else 7
CALLS = 40 if QUICK else 150  # per round and per way of calling
SECONDS = 1.0 if QUICK else 3.0  # per throughput measurement
CONCURRENCY = (1, 16, 64)
NEW_CONNECTION_AT = 16  # calls/s also measured with a new connection per call
# tfhook as some users run it, beside the benchmark's server (uvloop, the soft open files
# limit equal to the hard one here): asyncio's own loop (installed without the fast extra),
# and under systemd's default LimitNOFILE=1024:524288 (tfhook raises its soft limit; each
# child must get 1,024 back).
VARIANTS = {"asyncio_loop": (["--event-loop", "asyncio"], []),
            "soft_limit_1024": ([], ["prlimit", "--nofile=1024:", "--"])}


def run(workdir: Path) -> dict[str, Any]:
    hook = write_hook(workdir / "cat-hook")
    message = request()
    body = gojson.dumps(message)
    server = Served(["--executable-path", str(hook)], workdir)
    variants = {name: Served(["--executable-path", str(hook), *args], workdir, launcher=launcher)
                for name, (args, launcher) in VARIANTS.items()}
    try:
        idle_rss = rss_mib(server.pid)
        variant_rss = {name: rss_mib(served.pid) for name, served in variants.items()}
        latency = _latency_rounds(server, message, hook, body, workdir, variants)
        throughput = _throughput_rounds(server, message, hook, body, workdir)
        total = latency.pop("calls") + throughput.pop("calls")
        for _ in range(max(0, 5000 - total)):
            server.call(message)
        return {"idle_rss_mib": idle_rss, "rss_after_5000_calls_mib": rss_mib(server.pid),
                "calls_before_rss": max(total, 5000), "variant_idle_rss_mib": variant_rss,
                **latency, **throughput}
    finally:
        for served in (server, *variants.values()):
            served.close()


def _tfhook_ways(server: Served, message: Any, workdir: Path
                 ) -> tuple[str, dict[str, Callable[[], list[float]]], Callable[[], float]]:
    """How tfhook is called: the Core-like Go client when `make bench` could build it (its
    own CPU per call as the third item), else grpcio from this process."""
    empty = pb.HandleRequest(source="bench")
    if not CoreClient.available():
        return "grpcio (this process)", {
            "tfhook_one_channel": lambda: [timed(lambda: server.call(message))
                                           for _ in range(CALLS)],
            "tfhook_new_channel": lambda: [timed(lambda: _new_channel_call(server, message))
                                           for _ in range(CALLS)],
            # A phase that runs nothing: what gRPC and tfhook cost without the spawn.
            "tfhook_no_hook": lambda: [timed(lambda: list(server.stub.PreHandle(empty,
                                                                                 timeout=60)))
                                       for _ in range(CALLS)],
        }, lambda: float("nan")
    post = CoreClient(server.addr, workdir, message)
    pre = CoreClient(server.addr, workdir, empty, "PreHandle")
    return CoreClient.name, {
        "tfhook_one_channel": lambda: post.latencies(CALLS, one_channel=True),
        "tfhook_new_channel": lambda: post.latencies(CALLS, one_channel=False),
        "tfhook_no_hook": lambda: pre.latencies(CALLS, one_channel=True),
        # The same calls from Python's grpcio client (its own cost is in the figure).
        "tfhook_grpcio_client": lambda: [timed(lambda: server.call(message))
                                         for _ in range(CALLS)],
    }, lambda: post.cpu_per_call


def _latency_rounds(server: Served, message: Any, hook: Path, body: bytes, workdir: Path,
                    variants: dict[str, Served]) -> dict[str, Any]:
    client, tfhook_ways, client_cpu_per_call = _tfhook_ways(server, message, workdir)
    calls = ROUNDS * CALLS * len(tfhook_ways)  # to `server`
    for name, served in variants.items():
        tfhook_ways[f"tfhook_{name}"] = _one_channel(served, message, workdir)
    ways: dict[str, Callable[[], list[float]]] = {
        "floor_subprocess_run": lambda: [timed(lambda: _subprocess_run(hook, body))
                                         for _ in range(CALLS)],
        "floor_asyncio": lambda: asyncio.run(_asyncio_sequential(hook, body)),
        **tfhook_ways,
    }
    samples = _Latencies(list(ways), server.pid, client_cpu_per_call)
    for index in range(ROUNDS):
        for name in _rotated(list(ways), index):  # interleaved
            samples.measure(name, ways[name])
    return {"client": client, **samples.summary(),
            "calls": calls}


def _one_channel(server: Served, message: Any, workdir: Path) -> Callable[[], list[float]]:
    """Calls one after another on one connection, from the Core-like client if built."""
    if not CoreClient.available():
        return lambda: [timed(lambda: server.call(message)) for _ in range(CALLS)]
    client = CoreClient(server.addr, workdir, message)
    return lambda: client.latencies(CALLS, one_channel=True)


def _rotated(names: list[str], index: int) -> list[str]:
    """`names` starting at the `index`th: each round starts with another way."""
    return names[index % len(names):] + names[:index % len(names)]


class _Latencies:
    """Each round's p50 and p99 per way, tfhook's CPU per call (its Python threads and gRPC's
    C-core threads) and the calling client's own CPU per call (for the share it takes)."""

    def __init__(self, names: list[str], pid: int, client_cpu_per_call: Callable[[], float]
                 ) -> None:
        self.pid, self.client_cpu_per_call = pid, client_cpu_per_call
        self.p50: dict[str, list[float]] = {name: [] for name in names}
        self.p99: dict[str, list[float]] = {name: [] for name in names}
        self.cpu: dict[str, dict[str, list[float]]] = {
            way: {"python": [], "grpc": []} for way in ("one_channel", "new_channel")}
        self.client_cpu: list[float] = []

    def measure(self, name: str, way: Callable[[], list[float]]) -> None:
        before, client_before = cpu_by_thread(self.pid), time.process_time()
        samples = way()
        if name in ("tfhook_one_channel", "tfhook_new_channel"):
            after = cpu_by_thread(self.pid)
            for kind, spent in self.cpu[name.removeprefix("tfhook_")].items():
                spent.append((after[kind] - before[kind]) / CALLS)
        if name == "tfhook_one_channel":
            go = self.client_cpu_per_call()
            self.client_cpu.append(go if go == go else  # NaN: grpcio, in this process
                                   (time.process_time() - client_before) / CALLS)
        self.p50[name].append(percentile(samples, 0.5))
        self.p99[name].append(percentile(samples, 0.99))

    def summary(self) -> dict[str, Any]:
        floor = self.p50["floor_subprocess_run"]
        return {
            "latency_p50_ms": {name: median(v) * 1000 for name, v in self.p50.items()},
            "latency_p99_ms": {name: median(v) * 1000 for name, v in self.p99.items()},
            **{f"p50_ratio_{way}": median([t / f for t, f in zip(self.p50[f"tfhook_{way}"], floor,
                                                                   strict=True)])
               for way in ("one_channel", "new_channel", *VARIANTS)},
            # tfhook's CPU per call: its own (Python) threads and gRPC's C-core threads.
            "cpu_per_call_ms": {way: median([p + g for p, g in zip(k["python"], k["grpc"],
                                                                     strict=True)]) * 1000
                                for way, k in self.cpu.items()},
            "cpu_per_call_split_ms": {way: {kind: median(v) * 1000 for kind, v in k.items()}
                                      for way, k in self.cpu.items()},
            "client_cpu_per_call_ms": median(self.client_cpu) * 1000,
        }


def _throughput_rounds(server: Served, message: Any, hook: Path, body: bytes, workdir: Path
                       ) -> dict[str, Any]:
    """Calls/s at each concurrency beside the asyncio floor, interleaved; at NEW_CONNECTION_AT
    also with a new connection per call, as the Core dials (#9)."""
    core = CoreClient(server.addr, workdir, message) if CoreClient.available() else None
    rates: dict[tuple[str, int], list[float]] = {}
    calls = 0
    for index in range(max(2, ROUNDS // 2)):
        for concurrency in CONCURRENCY:
            kinds = ["tfhook", "floor", *(["tfhook_new_connection"]
                                          if concurrency == NEW_CONNECTION_AT else [])]
            for kind in _rotated(kinds, index):
                if kind == "floor":
                    rate = asyncio.run(_asyncio_rate(hook, body, concurrency))
                else:
                    done, rate = _tfhook_rate(server.addr, core, message, concurrency,
                                              new_connection=kind == "tfhook_new_connection")
                    calls += done
                rates.setdefault((kind, concurrency), []).append(rate)
    return {"calls_per_s": _medians(rates, "tfhook"),
            "floor_asyncio_calls_per_s": _medians(rates, "floor"),
            "calls_per_s_ratio": _ratios(rates, "tfhook"),
            "calls_per_s_new_connection": _medians(rates, "tfhook_new_connection"),
            "calls_per_s_ratio_new_connection": _ratios(rates, "tfhook_new_connection"),
            "calls": calls}


def _medians(rates: dict[tuple[str, int], list[float]], kind: str) -> dict[str, float]:
    return {str(c): median(v) for (k, c), v in rates.items() if k == kind}


def _ratios(rates: dict[tuple[str, int], list[float]], kind: str) -> dict[str, float]:
    """Per concurrency, the median of each round's ratio to that round's asyncio floor."""
    return {str(c): median([t / f for t, f in zip(v, rates[("floor", c)], strict=True)])
            for (k, c), v in rates.items() if k == kind}


def _subprocess_run(hook: Path, body: bytes) -> None:
    subprocess.run([str(hook), body.decode()], input=body, capture_output=True, check=True)


async def _spawn(hook: Path, body: bytes) -> None:
    proc = await asyncio.create_subprocess_exec(
        str(hook), body.decode(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    await proc.communicate(body)


async def _asyncio_sequential(hook: Path, body: bytes) -> list[float]:
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter()
        await _spawn(hook, body)
        samples.append(time.perf_counter() - started)
    return samples


def _new_channel_call(server: Served, message: Any) -> None:
    with grpc.insecure_channel(server.addr) as channel:  # as the Core: one connection per call
        server.call(message, handler_pb2_grpc.HandleServiceStub(channel))


async def _asyncio_rate(hook: Path, body: bytes, concurrency: int) -> float:
    return (await _rate(lambda: _spawn(hook, body), concurrency))[1]


def _tfhook_rate(addr: str, core: CoreClient | None, message: Any, concurrency: int,
                 new_connection: bool) -> tuple[int, float]:
    if core is not None:
        return core.rate(concurrency, SECONDS, new_connection)
    return asyncio.run(_grpcio_rate(addr, message, concurrency, new_connection))


async def _grpcio_rate(addr: str, message: Any, concurrency: int, new_connection: bool
                       ) -> tuple[int, float]:
    async def drain(channel: grpc.aio.Channel) -> None:
        async for _ in handler_pb2_grpc.HandleServiceStub(channel).PostHandle(message,
                                                                               timeout=600):
            pass

    async with grpc.aio.insecure_channel(addr) as shared:
        async def one() -> None:
            if not new_connection:
                return await drain(shared)
            async with grpc.aio.insecure_channel(addr) as channel:  # as the Core dials
                await drain(channel)

        return await _rate(one, concurrency)


async def _rate(call: Callable[[], Any], concurrency: int) -> tuple[int, float]:
    """Calls per second with `concurrency` calls always in flight, for SECONDS."""
    done = 0
    started = time.perf_counter()
    stop_at = started + SECONDS

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await call()
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, done / (time.perf_counter() - started)
