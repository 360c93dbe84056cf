"""Footprint: start to SERVING, and `tfhook terraform version` against the bare engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import QUICK, TFHOOK, Served, median, terraform_on_path, write_hook
from bench.terraform import EMBEDDED, ENV, _run, module

STARTS = 5 if QUICK else 11
VERSIONS = 5 if QUICK else 15


def start(workdir: Path) -> dict[str, Any]:
    """Spawn to the `serving` log line, generic and Terraform mode (embedded engine),
    beside the engine's own start-up commands (version, a plan of nothing) run bare."""
    hook = write_hook(workdir / "start-hook")
    tf_dir = module(workdir / "start-tf", 5, EMBEDDED)
    generic, terraform, engine_own = [], [], []
    for _ in range(STARTS):
        generic.append(_start(["--executable-path", str(hook)], workdir))
        terraform.append(_start(["--tf-dir", str(tf_dir), "--terraform", "embedded"], workdir))
        engine_own.append(_run([*EMBEDDED, "version", "-json"], tf_dir) + _run(
            [*EMBEDDED, "plan", "-input=false", "-json", "-refresh=false", "-lock=false",
             "-target=terraform_data.tfhook_start_up_check_plans_nothing"], tf_dir))
    return {"generic_s": median(generic), "terraform_s": median(terraform),
            "engine_startup_commands_s": median(engine_own),
            "terraform_minus_generic_s": median(terraform) - median(generic)}


def _start(args: list[str], workdir: Path) -> float:
    server = Served(args, workdir, env=ENV)
    server.close()
    return server.started_in


def terraform_version(workdir: Path) -> dict[str, Any]:
    """`tfhook terraform version` against the engine it runs, interleaved."""
    pairs = {"embedded": ([*TFHOOK, "terraform", "version"], [*EMBEDDED, "version"],
                          {**ENV, "TFHOOK_TERRAFORM": "embedded"})}
    path = terraform_on_path()
    if path:
        pairs["terraform on PATH"] = ([*TFHOOK, "terraform", "version"], [path, "version"], ENV)
    results: dict[str, Any] = {}
    for name, (ours, bare, env) in pairs.items():
        tfhook_s, bare_s = [], []
        for _ in range(VERSIONS):
            tfhook_s.append(_version(ours, env, workdir))
            bare_s.append(_version(bare, env, workdir))
        results[name] = {"tfhook_s": median(tfhook_s), "bare_s": median(bare_s),
                         "ratio": median([t / b for t, b in zip(tfhook_s, bare_s, strict=True)])}
    return results


def _version(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    return _run(argv, cwd, env=env)
