"""`make bench`: run every measurement, then write results.json, RESULTS.md and chart.png.

Usage: python -m bench.run [OUTPUT_DIR]   (BENCH_QUICK=1 for a short run)
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import footprint, generic, report, terraform, warm
from bench.common import QUICK


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    memory = next(line.split(":", 1)[1].strip() for line in
                  Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    engine = terraform.terraform_on_path()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "kernel": platform.release(),
            "python": platform.python_version(),
            "terraform_on_path": subprocess.run([engine, "version"], capture_output=True,
                                                text=True).stdout.splitlines()[0] if engine else None}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    if QUICK:  # a quick run never replaces the last full one
        out = out / "quick"
        out.mkdir(exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": QUICK, "machine": machine(), "load_before": load(),
        "command": ("BENCH_QUICK=1 " if QUICK else "") + "make bench"}
    with tempfile.TemporaryDirectory(prefix="tfhook-bench-") as tmp:
        work = Path(tmp)
        steps = {"generic": generic.run, "terraform_burst": terraform.burst,
                 "init_hook_per_event_s": terraform.init_hook, "refresh": terraform.refresh,
                 "guarded_refresh": terraform.guard, "warm_providers": warm.run,
                 "start_to_serving": footprint.start, "terraform_version": footprint.terraform_version}
        for name, step in steps.items():
            print(f"bench: {name} (load {load()})", flush=True)
            step_dir = work / name
            step_dir.mkdir()
            results[name] = step(step_dir)
    results["load_after"] = load()
    results["seconds"] = round(time.monotonic() - started, 1)
    results["targets"] = report.targets(results)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    report.chart(results, out / "chart.png")
    (out / "RESULTS.md").write_text(report.markdown(results), encoding="utf-8")
    print(report.summary(results))


if __name__ == "__main__":
    main()
