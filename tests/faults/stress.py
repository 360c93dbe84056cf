"""`make stress`: every fault case, then the load case (5,000 calls at concurrency 32), and
a table of what held. Exit status 1 when anything did not.

STRESS_CALLS, STRESS_CONCURRENCY and STRESS_SAMPLE_AT change the load.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

import fault_hooks  # noqa: E402
import fault_load  # noqa: E402
import fault_memory  # noqa: E402
import fault_server  # noqa: E402
from faultlab import Lab  # noqa: E402

MEMORY_LIMIT_MIB = 10.0


def attempt(name: str, check: Callable[[Lab], str], rows: list[tuple[str, bool, str]]) -> None:
    with tempfile.TemporaryDirectory(prefix="tfhook-stress-") as root:
        os.environ["HOME"] = str(Path(root) / "home")  # the servers' history stays in here
        Path(os.environ["HOME"]).mkdir()
        lab = Lab(Path(root))
        started = time.monotonic()
        try:
            held, ok = check(lab), True
        except Exception as exc:
            held, ok = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", \
                False
            traceback.print_exc(file=sys.stderr)
        finally:
            lab.close()
        rows.append((name, ok, f"{held} ({time.monotonic() - started:.1f}s)"))
        print(f"{'held' if ok else 'FAILED':7} {name}", file=sys.stderr, flush=True)


def load(lab: Lab) -> str:
    calls = int(os.environ.get("STRESS_CALLS", "5000"))
    concurrency = int(os.environ.get("STRESS_CONCURRENCY", "32"))
    sample_at = int(os.environ.get("STRESS_SAMPLE_AT", str(max(calls // 5, 1))))
    report = fault_load.run(lab, calls=calls, concurrency=concurrency, sample_at=sample_at)
    summary = (f"{calls} calls at {concurrency}: {report.failed} failed, {report.waited} "
               f"waited (ACCEPTED), {report.zombies} zombies, descriptors "
               f"{report.fds_before}->{report.fds_after}, memory "
               f"{report.rss_at_sample / 2**20:.1f}->{report.rss_end / 2**20:.1f} MiB "
               f"(+{report.growth_mib:.2f} from call {sample_at}), {report.seconds:.0f}s")
    problems = list(report.errors[:3])
    if report.failed or report.zombies:
        problems.append("failed calls or zombies")
    if report.growth_mib >= MEMORY_LIMIT_MIB:
        problems.append(f"memory grew {report.growth_mib:.1f} MiB")
    if problems:
        raise AssertionError(f"{summary}; {'; '.join(problems)}")
    return summary


def table(rows: list[tuple[str, bool, str]]) -> str:
    width = max(len(name) for name, _, _ in rows)
    lines = [f"| {'case':{width}} | held | what held |", f"|{'-' * (width + 2)}|------|---|"]
    lines += [f"| {name:{width}} | {'yes' if ok else 'NO':4} | {held} |" for name, ok, held in rows]
    return "\n".join(lines)


def main() -> int:
    rows: list[tuple[str, bool, str]] = []
    for case in [*fault_hooks.CASES, *fault_server.CASES, *fault_memory.CASES]:
        attempt(case.name, case.check, rows)
    attempt("load", load, rows)
    print(table(rows))
    return 0 if all(ok for _, ok, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
