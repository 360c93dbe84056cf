"""The DONE text of a refresh: how long, what was refreshed, drifted and changed."""

from __future__ import annotations

from pathlib import Path

from tfhook.terraform import state
from tfhook.terraform.events import Report, listing
from tfhook.terraform.targets import TARGETING_WARNINGS


def summary(report: Report, elapsed: float, engine: str, where: Path,
            before: state.State | None, targets: list[str], notes: list[str]) -> str:
    """Lines an operator can read; outputs compared with the state `before` the run."""
    version = f"Terraform {report.version}" if report.version else engine
    lines = [
        f"terraform refresh done in {elapsed:.1f}s ({version}, {where})",
        listing("refreshed", report.refreshed),
        listing("drifted", report.drifted),
        listing("outputs changed", report.output_changes(state.outputs(before))),
        *notes,
        *(f"warning: {diag.summary}" for diag in report.warnings
          if not targets or diag.summary not in TARGETING_WARNINGS),
    ]
    return "\n".join(lines)
