"""Warm providers (#25) against Terraform starting its providers: the simulated cloud's
provider (examples/simcloud) made to start as slowly as a real one.

The delay: the sakuracloud provider cannot be installed on the benchmark's machine
(registry.terraform.io and releases.hashicorp.com do not resolve; PyPI has no build of it),
so its start-up cannot be measured here. SIMCLOUD_START_DELAY=0.5 s stands in for a large
Go binary's start (the low end of issue 25's 0.5-1 s): every start of the provider sleeps
that long first, whether Terraform starts it or tfhook starts it with `-debug`.

Measured per engine, with tfhook's `--warm-providers auto` and `off`, in interleaved
rounds (the order turns each round): one event that finds a change, end to end, against
one bare `apply -refresh-only`; a burst of 20 events with a change and with nothing to
refresh against the shell pattern; 1,000 resources, an event's targeted refresh against a
bare targeted apply. Each tfhook server answers one event before the rounds (its warm
provider is started then, once, as for a server that has been serving a while).

Run alone: python -m bench.warm [OUTPUT.json]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import QUICK, Served, request
from bench.terraform import APPLY, BURST, EMBEDDED, ENV, _burst, _run, terraform_on_path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "simcloud"))
from simcloud import api  # noqa: E402  (the cloud's JSON file; standard library only)

PROVIDER_DIR = ROOT / ".venv-simcloud" / "bin"
DELAY = "0.5"  # seconds: see the module's docstring
MODES = ("auto", "off")
ROUNDS = 1 if QUICK else 3  # one event, and targeted: cheap enough for three
BURST_ROUNDS = 1 if QUICK else 2  # each shell pattern is 20 cold applies
BIG = 100 if QUICK else 1000
ELB_ID = "113300000001"


def module(servers: int, elb: bool = True) -> str:
    text = ('terraform {\n  required_providers {\n    simcloud = { source = "tfhook/simcloud" }\n'
            '  }\n}\n\nprovider "simcloud" {\n  api = "${abspath(path.module)}/cloud.json"\n}\n\n'
            f'resource "simcloud_server" "web" {{\n  count  = {servers}\n'
            '  name   = "web${count.index}"\n  core   = 1\n  memory = 2\n}\n')
    return text + ('\nresource "simcloud_elb" "main" {\n  name    = "demo-elb"\n  plan    = 100\n'
                   '  servers = simcloud_server.web[*].id\n  lifecycle {\n'
                   '    ignore_changes = [plan]\n  }\n}\n' if elb else "")


def environment(workdir: Path) -> dict[str, str]:
    """Terraform finds the provider through dev_overrides, as a plugin it starts itself."""
    config = workdir / "simcloud.tfrc"
    config.write_text('provider_installation {\n  dev_overrides {\n'
                      f'    "tfhook/simcloud" = "{PROVIDER_DIR}"\n  }}\n  direct {{}}\n}}\n',
                      encoding="utf-8")
    return {**ENV, "TF_CLI_CONFIG_FILE": str(config), "SIMCLOUD_START_DELAY": DELAY}


def cloud(where: Path, env: dict[str, str], servers: int = 2, big: int = 0) -> Path:
    """A directory on the simulated cloud, applied (no delay: set-up is not measured); with
    `big`, its servers grown to `big` by writing the cloud and the state directly."""
    where.mkdir(parents=True)
    (where / "main.tf").write_text(module(servers, elb=not big), encoding="utf-8")
    fast = {**env, "SIMCLOUD_START_DELAY": "0"}
    _run([*EMBEDDED, "apply", "-auto-approve", "-input=false"], where, env=fast)
    if big:
        _grow(where, big)
    return where


def _grow(where: Path, count: int) -> None:
    (where / "main.tf").write_text(module(count, elb=False), encoding="utf-8")
    state = json.loads((where / "terraform.tfstate").read_text(encoding="utf-8"))
    [web] = [r for r in state["resources"] if r["type"] == "simcloud_server"]
    model = web["instances"][0]
    with api.change(where / "cloud.json") as objects:
        objects["server"] = {}
        web["instances"] = []
        for index in range(count):
            object_id = str(113300000101 + index)
            fields = {"name": f"web{index}", "core": 1, "memory": 2}
            objects["server"][object_id] = fields
            web["instances"].append({**model, "index_key": index,
                                     "attributes": {**model["attributes"], **fields,
                                                    "id": object_id}})
        objects["last_server"] = 113300000101 + count - 1
    state["serial"] += 1
    (where / "terraform.tfstate").write_text(json.dumps(state), encoding="utf-8")


def _drift(where: Path, kind: str, object_id: str, field: str) -> Callable[[], None]:
    """What the autoscaler does before each measured run: a new value, so a change."""
    def change() -> None:
        now = api.get(where / "cloud.json", kind, object_id) or {}
        api.put(where / "cloud.json", kind, object_id, **{field: int(now.get(field, 0)) + 1})
    return change


@contextmanager
def servers(tf_dir: Path, engine: list[str], env: dict[str, str], *flags: str
            ) -> Iterator[dict[str, Served]]:
    """One tfhook server per mode on `tf_dir`, each past its first event."""
    choice = "embedded" if engine is EMBEDDED else engine[0]
    made: dict[str, Served] = {}
    try:
        for mode in MODES:
            made[mode] = Served(["--tf-dir", str(tf_dir), "--terraform", choice,
                                 "--warm-providers", mode, "--state-dir",
                                 str(tf_dir.parent / f"state-{tf_dir.name}-{mode}"), *flags],
                                tf_dir.parent, env=env)
            made[mode].call(request())
        yield made
    finally:
        for server in made.values():
            server.close()


def _rounds(count: int, ways: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Each way once per round, the order turned by one each round."""
    names = list(ways)
    seen: dict[str, list[float]] = {name: [] for name in ways}
    for index in range(count):
        for name in names[index % len(names):] + names[:index % len(names)]:
            seen[name].append(ways[name]())
    return seen


def _timed_call(server: Served, prepare: Callable[[], None], server_id: str = "113000000001"
                ) -> float:
    prepare()
    started = time.perf_counter()
    answers = server.call(request(server_id=server_id))
    seconds = time.perf_counter() - started
    if answers[-1].status != answers[-1].DONE or "FAILED" in answers[-1].log:
        raise RuntimeError(f"the event failed: {answers[-1].log}")
    return seconds


def _bare(engine: list[str], tf_dir: Path, env: dict[str, str], prepare: Callable[[], None],
          *extra: str) -> float:
    prepare()
    return _run([*engine, *APPLY, *extra], tf_dir, env=env)


def _spread(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "all": [round(v, 3) for v in values]}


def one_event(where: Path, engine: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One event that finds a change (the ELB's plan), through tfhook, against one bare
    `apply -refresh-only` that finds the same change."""
    tf_dir = cloud(where / "one", env)
    change = _drift(tf_dir, "elb", ELB_ID, "plan")
    with servers(tf_dir, engine, env) as served:
        seen = _rounds(ROUNDS, {
            **{mode: (lambda s=s: _timed_call(s, change)) for mode, s in served.items()},
            "bare": lambda: _bare(engine, tf_dir, env, change)})
    return {way: _spread(values) for way, values in seen.items()}


def bursts(where: Path, engine: list[str], env: dict[str, str]) -> dict[str, Any]:
    """20 events at once through tfhook against the shell pattern (20 bare applies, one
    after another), with a change before each round and with nothing to refresh."""
    return {case: _burst_case(where / ("burst-change" if changes else "burst-nothing"), engine,
                              env, changes)
            for case, changes in (("with a change", True), ("nothing to refresh", False))}


def _burst_case(where: Path, engine: list[str], env: dict[str, str], changes: bool
                ) -> dict[str, Any]:
    tf_dir = cloud(where, env)
    change = _drift(tf_dir, "elb", ELB_ID, "plan") if changes else _same
    with servers(tf_dir, engine, env) as served:
        seen = _rounds(BURST_ROUNDS, {
            **{mode: (lambda s=s: _burst_of(s, change)) for mode, s in served.items()},
            "shell": lambda: sum(_bare(engine, tf_dir, env, change if i == 0 else _same)
                                 for i in range(BURST))})
    found: dict[str, Any] = {way: _spread(values) for way, values in seen.items()}
    for mode in MODES:
        found[f"speedup_{mode}"] = _spread(
            [s / t for s, t in zip(seen["shell"], seen[mode], strict=True)])
    return found


def _same() -> None:
    """Nothing changes between the shell pattern's applies: only the first finds it."""


def _burst_of(server: Served, prepare: Callable[[], None]) -> float:
    prepare()
    seconds, answers = asyncio.run(_burst(server.addr))
    failed = [logs[-1] for logs in answers if not logs or "FAILED" in logs[-1]]
    if failed:
        raise RuntimeError(f"a burst's event failed: {failed[0]}")
    return seconds


def targeted(where: Path, engine: list[str], env: dict[str, str]) -> dict[str, Any]:
    """BIG servers: an event's targeted refresh (its server changed) against a bare
    `apply -refresh-only -target=simcloud_server.web[N]` finding the same change."""
    tf_dir = cloud(where / "big", env, big=BIG)
    index = BIG // 2
    server_id = str(113300000101 + index)
    change = _drift(tf_dir, "server", server_id, "memory")
    with servers(tf_dir, engine, env, "--target-from-event") as served:
        seen = _rounds(ROUNDS, {
            **{mode: (lambda s=s: _timed_call(s, change, server_id)) for mode, s in served.items()},
            "bare": lambda: _bare(engine, tf_dir, env, change,
                                  f"-target=simcloud_server.web[{index}]")})
    return {"resources": BIG, **{way: _spread(values) for way, values in seen.items()}}


def engines() -> dict[str, list[str]]:
    path = terraform_on_path()
    return {"embedded": EMBEDDED, **({"terraform on PATH": [path]} if path and not QUICK
                                     else {})}


def run(workdir: Path) -> dict[str, Any]:
    """Every case on every engine; {"skipped": why} without the simulated cloud's provider."""
    if not (PROVIDER_DIR / "terraform-provider-simcloud").exists():
        return {"skipped": "no .venv-simcloud (make simcloud)"}
    env = environment(workdir)
    found: dict[str, Any] = {"start_delay_s": float(DELAY), "rounds": ROUNDS,
                             "burst_rounds": BURST_ROUNDS}
    for name, engine in engines().items():
        where = workdir / name.split()[0]
        found[name] = {"one_event": one_event(where, engine, env),
                       "burst": bursts(where, engine, env),
                       "targeted": targeted(where, engine, env)}
    return found


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tfhook-warm-") as tmp:
        result = run(Path(tmp))
    text = json.dumps(result, indent=2) + "\n"
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    print(text)
