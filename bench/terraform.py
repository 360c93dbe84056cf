"""Terraform mode: a burst of events against the shell pattern, the `tfhook init` hook,
targeted against full refresh of many resources, and what following a refresh costs tfhook."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import grpc

from bench.common import QUICK, TFHOOK, Served, cpu_seconds, median, request, terraform_on_path
from tfhook.v1 import handler_pb2_grpc

BURST = 20
BURST_ROUNDS = 1 if QUICK else 2
RESOURCES = 100 if QUICK else 1000
GUARD_RESOURCES = 200
EMBEDDED = [sys.executable, "-m", "tfhook._embedded"]
APPLY = ["apply", "-refresh-only", "-auto-approve", "-input=false"]
ENV = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}


def engines() -> dict[str, list[str]]:
    """The engines to compare: the embedded one, and terraform from PATH when there is one."""
    found = {"embedded": EMBEDDED}
    path = terraform_on_path()
    if path and not QUICK:
        found["terraform on PATH"] = [path]
    return found


def module(where: Path, count: int, engine: list[str]) -> Path:
    """A module of `count` terraform_data resources, initialised, with their state written
    directly (creating 1,000 through Terraform takes about a minute)."""
    where.mkdir(parents=True)
    (where / "main.tf").write_text(
        'resource "terraform_data" "r" {\n'
        f"  for_each = toset([for i in range({count}) : tostring(i)])\n"
        "  input    = each.key\n}\n", encoding="utf-8")
    instances = [{"index_key": str(i), "schema_version": 0, "sensitive_attributes": [],
                  "attributes": {"id": str(uuid.uuid4()), "input": {"value": str(i), "type": "string"},
                                 "output": {"value": str(i), "type": "string"},
                                 "triggers_replace": None}} for i in range(count)]
    state = {"version": 4, "terraform_version": "1.10.0", "serial": 1, "lineage": str(uuid.uuid4()),
             "outputs": {}, "resources": [{"mode": "managed", "type": "terraform_data", "name": "r",
                                           "provider": 'provider["terraform.io/builtin/terraform"]',
                                           "instances": instances}]}
    (where / "terraform.tfstate").write_text(json.dumps(state), encoding="utf-8")
    _run([*engine, "init", "-input=false"], where)
    return where


def _run(argv: list[str], cwd: Path, stdin: bytes | None = None, env: dict[str, str] | None = None
         ) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, input=stdin, env=env or ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def burst(workdir: Path) -> dict[str, Any]:
    """20 UPDATED at once through tfhook against 20 sequential applies, per engine."""
    results: dict[str, Any] = {}
    for name, engine in engines().items():
        tf_dir = module(workdir / f"burst-{name.split()[0]}", 5, engine)
        choice = "embedded" if engine is EMBEDDED else engine[0]
        server = Served(["--tf-dir", str(tf_dir), "--terraform", choice], workdir, env=ENV)
        tfhook_s, shell_s, runs = [], [], []
        try:
            # One event alone: what a run costs through tfhook, against one bare apply.
            single = median([_single(server) for _ in range(3)])
            for index in range(BURST_ROUNDS):
                order = ("tfhook", "shell") if index % 2 == 0 else ("shell", "tfhook")
                for which in order:
                    if which == "tfhook":
                        seconds, logs = asyncio.run(_burst(server.addr))
                        tfhook_s.append(seconds)
                        runs.append(len({log for log in logs if "terraform refresh done" in log}))
                    else:
                        shell_s.append(sum(_run([*engine, *APPLY], tf_dir) for _ in range(BURST)))
        finally:
            server.close()
        results[name] = {"tfhook_s": median(tfhook_s), "shell_s": median(shell_s),
                         "speedup": median([s / t for s, t in zip(shell_s, tfhook_s, strict=True)]),
                         "distinct_runs": max(runs), "one_event_s": single,
                         "one_bare_apply_s": median(shell_s) / BURST}
    return results


def _single(server: Served) -> float:
    started = time.perf_counter()
    server.call(request())
    return time.perf_counter() - started


async def _burst(addr: str) -> tuple[float, list[str]]:
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = handler_pb2_grpc.HandleServiceStub(channel)

        async def one() -> str:
            answers = [r async for r in stub.PostHandle(request(), timeout=600)]
            return answers[-1].log

        started = time.perf_counter()
        logs = await asyncio.gather(*(one() for _ in range(BURST)))
        return time.perf_counter() - started, list(logs)


def init_hook(workdir: Path) -> dict[str, Any]:
    """Per event: the script `tfhook init --kind terraform-refresh` writes."""
    tf_dir = module(workdir / "init-hook-tf", 5, EMBEDDED)
    # --tfhook-path: the hook must find this venv's tfhook with PATH stripped of terraform.
    subprocess.run([*TFHOOK, "init", str(workdir / "hook"), "--kind", "terraform-refresh",
                    "--tf-dir", str(tf_dir), "--tfhook-path", TFHOOK[0]],
                   check=True, capture_output=True)
    hook = workdir / "hook" / "refresh.py"
    event = json.dumps({"result": 2, "resource_name": "web"}).encode()
    no_terraform = {**ENV, "PATH": _path_without_terraform()}
    figures = {"embedded (tfhook terraform)": median(
        [_run([str(hook)], tf_dir, stdin=event, env=no_terraform) for _ in range(3)])}
    if terraform_on_path():
        figures["terraform on PATH"] = median([_run([str(hook)], tf_dir, stdin=event)
                                               for _ in range(3)])
    return figures


def _path_without_terraform() -> str:
    keep = [d for d in ENV.get("PATH", "").split(os.pathsep)
            if not (Path(d) / "terraform").exists() and not (Path(d) / "tofu").exists()]
    return os.pathsep.join(keep)


def refresh(workdir: Path) -> dict[str, Any]:
    """Targeted against full refresh of RESOURCES resources; tfhook's CPU to follow it."""
    path = terraform_on_path()
    engine = [path] if path else EMBEDDED
    tf_dir = module(workdir / "many", RESOURCES, engine)  # type: ignore[list-item]
    state = json.loads((tf_dir / "terraform.tfstate").read_text(encoding="utf-8"))
    one_id = state["resources"][0]["instances"][0]["attributes"]["id"]
    server = Served(["--tf-dir", str(tf_dir), "--target-from-event", "--terraform",
                     "embedded" if engine == EMBEDDED else str(engine[0])], workdir, env=ENV)
    try:
        targeted = [_timed_call(server, one_id)[0] for _ in range(2)]
        full, cpu = _timed_call(server, "no-such-id")  # matches nothing: a full refresh
    finally:
        server.close()
    return {"resources": RESOURCES, "engine": "terraform on PATH" if engine != EMBEDDED
            else "embedded", "targeted_s": median(targeted), "full_s": full,
            "full_over_targeted": full / median(targeted), "tfhook_cpu_ms": cpu * 1000}


def _timed_call(server: Served, server_id: str) -> tuple[float, float]:
    cpu = cpu_seconds(server.pid)
    started = time.perf_counter()
    answers = server.call(request(server_id=server_id))
    seconds = time.perf_counter() - started
    assert answers[-1].status == answers[-1].DONE, answers[-1].log
    return seconds, cpu_seconds(server.pid) - cpu


def guard(workdir: Path) -> dict[str, Any]:
    """The guarded refresh (plan, check, apply that plan, revert check) against today's
    single `apply -refresh-only`, bare and through tfhook, for a small and a big module."""
    results: dict[str, Any] = {}
    # Not RESOURCES: the full 1,000-resource module takes about 20 s a run, and this case
    # runs it 15 times; 200 shows how the cost grows and keeps `make bench` under 10 minutes.
    for count in (5, min(RESOURCES, GUARD_RESOURCES)):
        tf_dir = module(workdir / f"guard-{count}", count, EMBEDDED)
        plan, revert = str(workdir / f"p{count}"), str(workdir / f"r{count}")
        steps = [["plan", "-refresh-only", f"-out={plan}", "-input=false"], ["show", "-json", plan],
                 ["apply", "-input=false", plan], ["plan", "-refresh=false", f"-out={revert}",
                                                   "-input=false"]]
        single = median([_run([*EMBEDDED, *APPLY], tf_dir) for _ in range(3)])
        guarded = median([sum(_run([*EMBEDDED, *step], tf_dir) for step in steps)
                          for _ in range(3)])
        through: dict[str, float] = {}
        for name, flags in (("tfhook", []), ("tfhook --no-check-revert", ["--no-check-revert"])):
            server = Served(["--tf-dir", str(tf_dir), "--terraform", "embedded", *flags],
                            workdir, env=ENV)
            try:
                through[name] = median([_single(server) for _ in range(3)])
            finally:
                server.close()
        results[str(count)] = {"bare_single_apply_s": single, "bare_guarded_steps_s": guarded,
                               "tfhook_event_s": through["tfhook"],
                               "tfhook_no_revert_check_s": through["tfhook --no-check-revert"]}
    return results
