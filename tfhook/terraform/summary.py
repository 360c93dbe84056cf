"""The DONE text of a refresh: how long, what was refreshed, drifted and changed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfhook.terraform.events import Report, listing
from tfhook.terraform.targets import TARGETING_WARNINGS


def summary(report: Report, elapsed: float, engine: str, where: Path,
            before: dict[str, tuple[Any, bool]], targets: list[str], notes: list[str],
            reverts: Sequence[str] = (), after: Sequence[str] = ()) -> str:
    """Lines an operator can read; outputs compared with those `before` the run."""
    version = f"Terraform {report.version}" if report.version else engine
    lines = [
        f"terraform refresh done in {elapsed:.1f}s ({version}, {where})",
        listing("refreshed", report.refreshed),
        listing("drifted", report.drifted, "; "),  # a drift's line has commas (#21)
        listing("outputs changed", report.output_changes(before)),
        *notes,
        *dict.fromkeys(f"warning: {diag.summary}" for diag in report.warnings  # each once:
                       if not targets or diag.summary not in TARGETING_WARNINGS),  # plan, apply
        *(f"warning: {line}" for line in reverts),
        *after,
    ]
    return "\n".join(lines)
