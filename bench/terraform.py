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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from bench.common import QUICK, TFHOOK, Served, cpu_seconds, median, request, terraform_on_path
from tfhook.v1 import handler_pb2_grpc

BURST = 20
BURST_ROUNDS = 1 if QUICK else 2
RESOURCES = 100 if QUICK else 1000
GUARD_RESOURCES = 200
EMBEDDED = [sys.executable, "-m", "tfhook.terraform.embedded"]
APPLY = ["apply", "-refresh-only", "-auto-approve", "-input=false"]
ENV = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
# Whether the module reads something that changes before every round (terraform_remote_state
# of a local file: a built-in provider, nothing downloaded). Nothing to refresh: tfhook's
# guarded refresh stops after its plan. A change: plan, show -json, apply the plan.
CASES = {"nothing to refresh": False, "with a change": True}
CLOUD_TF = """
data "terraform_remote_state" "cloud" {
  backend = "local"
  config = {
    path = "${path.module}/cloud.tfstate"
  }
}

output "plan" {
  value = data.terraform_remote_state.cloud.outputs.plan
}
"""
APPLIED = "terraform apply (the checked plan)"  # tfhook's progress line when it applies


def engines() -> dict[str, list[str]]:
    """The engines to compare: the embedded one, and terraform from PATH when there is one."""
    found = {"embedded": EMBEDDED}
    path = terraform_on_path()
    if path and not QUICK:
        found["terraform on PATH"] = [path]
    return found


def module(where: Path, count: int, engine: list[str], cloud: bool = False) -> Path:
    """A module of `count` terraform_data resources, initialised, with their state written
    directly (creating 1,000 through Terraform takes about a minute). With `cloud`, it also
    reads an output of cloud.tfstate (`change_cloud`) and outputs it, as examples/terraform/demo
    reads its simulated cloud: a refresh then has something to apply."""
    where.mkdir(parents=True)
    (where / "main.tf").write_text(
        'resource "terraform_data" "r" {\n'
        f"  for_each = toset([for i in range({count}) : tostring(i)])\n"
        "  input    = each.key\n}\n" + (CLOUD_TF if cloud else ""), encoding="utf-8")
    instances = [{"index_key": str(i), "schema_version": 0, "sensitive_attributes": [],
                  "attributes": {"id": str(uuid.uuid4()), "input": {"value": str(i), "type": "string"},
                                 "output": {"value": str(i), "type": "string"},
                                 "triggers_replace": None}} for i in range(count)]
    state = {"version": 4, "terraform_version": "1.10.0", "serial": 1, "lineage": str(uuid.uuid4()),
             "outputs": {}, "resources": [{"mode": "managed", "type": "terraform_data", "name": "r",
                                           "provider": 'provider["terraform.io/builtin/terraform"]',
                                           "instances": instances}]}
    (where / "terraform.tfstate").write_text(json.dumps(state), encoding="utf-8")
    if cloud:
        change_cloud(where)
    _run([*engine, "init", "-input=false"], where)
    return where


def change_cloud(tf_dir: Path) -> None:
    """What the cloud does between two rounds: cloud.tfstate's output gets a new value and
    the file a new serial, so the next refresh reads a change and applies it."""
    path = tf_dir / "cloud.tfstate"
    state = (json.loads(path.read_text(encoding="utf-8")) if path.exists() else
             {"version": 4, "terraform_version": "1.5.0", "serial": 0,
              "lineage": str(uuid.uuid4()), "outputs": {}, "resources": []})
    state["serial"] += 1
    state["outputs"]["plan"] = {"value": 100 * state["serial"], "type": "number"}
    path.with_suffix(".tmp").write_text(json.dumps(state), encoding="utf-8")
    path.with_suffix(".tmp").replace(path)


def _run(argv: list[str], cwd: Path, stdin: bytes | None = None, env: dict[str, str] | None = None
         ) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, input=stdin, env=env or ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def burst(workdir: Path) -> dict[str, Any]:
    """20 UPDATED at once through tfhook against 20 sequential applies, per engine, with
    nothing to refresh and with a change before every round."""
    return {name: {case: _burst_case(workdir / f"burst-{name.split()[0]}-{index}", engine,
                                     changes)
                   for index, (case, changes) in enumerate(CASES.items())}
            for name, engine in engines().items()}


def _burst_case(where: Path, engine: list[str], changes: bool) -> dict[str, Any]:
    tf_dir = module(where, 5, engine, cloud=changes)
    choice = "embedded" if engine is EMBEDDED else engine[0]
    server = Served(["--tf-dir", str(tf_dir), "--terraform", choice], where, env=ENV)
    prepare = (lambda: change_cloud(tf_dir)) if changes else (lambda: None)
    tfhook_s, shell_s, runs, applied = [], [], [], []
    answer = ""  # the answer of a run that applied a plan, which says what it changed
    try:
        # One event alone: what a run costs through tfhook, against one bare apply.
        single = median([_single(server, prepare) for _ in range(3)])
        for index in range(BURST_ROUNDS):
            for which in ("tfhook", "shell") if index % 2 == 0 else ("shell", "tfhook"):
                prepare()
                if which == "shell":
                    shell_s.append(sum(_run([*engine, *APPLY], tf_dir) for _ in range(BURST)))
                    continue
                seconds, answers = asyncio.run(_burst(server.addr))
                tfhook_s.append(seconds)
                done = {logs[-1]: logs for logs in answers if "terraform refresh done" in logs[-1]}
                runs.append(len(done))
                shown = [last for last, logs in done.items() if any(APPLIED in x for x in logs)]
                applied.append(len(shown))
                answer = shown[0] if shown else answer
    finally:
        server.close()
    return {"tfhook_s": median(tfhook_s), "shell_s": median(shell_s),
            "speedup": median([s / t for s, t in zip(shell_s, tfhook_s, strict=True)]),
            "distinct_runs": max(runs), "runs_that_applied": min(applied),
            "one_event_s": single, "one_bare_apply_s": median(shell_s) / BURST,
            "applied_answer": answer}


def _single(server: Served, prepare: Callable[[], None] = lambda: None) -> float:
    prepare()
    started = time.perf_counter()
    server.call(request())
    return time.perf_counter() - started


async def _burst(addr: str) -> tuple[float, list[list[str]]]:
    """The seconds 20 calls at once take, and each call's answers' texts."""
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = handler_pb2_grpc.HandleServiceStub(channel)

        async def one() -> list[str]:
            return [r.log async for r in stub.PostHandle(request(), timeout=600)]

        started = time.perf_counter()
        answers = await asyncio.gather(*(one() for _ in range(BURST)))
        return time.perf_counter() - started, list(answers)


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
    single `apply -refresh-only`, bare and through tfhook, for a small and a big module,
    with nothing to refresh and with a change before every run."""
    # Not RESOURCES: the full 1,000-resource module takes about 20 s a run, and each case
    # runs it 15 times; 200 shows how the cost grows and keeps `make bench` under 10 minutes.
    return {case: {str(count): _guard_case(workdir / f"guard-{index}-{count}", count, changes)
                   for count in (5, min(RESOURCES, GUARD_RESOURCES))}
            for index, (case, changes) in enumerate(CASES.items())}


def _guard_case(where: Path, count: int, changes: bool) -> dict[str, Any]:
    tf_dir = module(where, count, EMBEDDED, cloud=changes)
    prepare = (lambda: change_cloud(tf_dir)) if changes else (lambda: None)
    plan, revert = f"{where}.tfplan", f"{where}-revert.tfplan"
    steps = [["plan", "-refresh-only", f"-out={plan}", "-input=false"], ["show", "-json", plan],
             ["apply", "-input=false", plan], ["plan", "-refresh=false", f"-out={revert}",
                                               "-input=false"]]

    def bare(commands: list[list[str]]) -> float:
        prepare()
        return sum(_run([*EMBEDDED, *command], tf_dir) for command in commands)

    single = median([bare([APPLY]) for _ in range(3)])
    guarded = median([bare(steps) for _ in range(3)])
    through: dict[str, float] = {}
    # --snapshots-keep 0: no state pull before the apply (#21), to show what the snapshot costs.
    for name, flags in (("tfhook", []), ("tfhook --no-check-revert", ["--no-check-revert"]),
                        ("tfhook --snapshots-keep 0", ["--snapshots-keep", "0"])):
        server = Served(["--tf-dir", str(tf_dir), "--terraform", "embedded", *flags],
                        where.parent, env=ENV)
        try:
            through[name] = median([_single(server, prepare) for _ in range(3)])
        finally:
            server.close()
    return {"bare_single_apply_s": single, "bare_guarded_steps_s": guarded,
            "tfhook_event_s": through["tfhook"],
            "tfhook_no_revert_check_s": through["tfhook --no-check-revert"],
            "tfhook_no_snapshot_s": through["tfhook --snapshots-keep 0"]}
