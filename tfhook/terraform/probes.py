"""The Terraform checks the option rules borrow (config may not import Terraform)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tfhook.config.values import Probes
from tfhook.errors import UserError
from tfhook.terraform import engine as engines


def probes(env: Mapping[str, str]) -> Probes:
    """What a routes file or serve's flags are checked with: a Terraform directory's
    problem, and an engine choice's (resolved in `env`, as the runs will be)."""

    def engine(choice: str) -> str | None:
        try:
            engines.choose(choice, env, "")
        except UserError as exc:
            return str(exc)
        return None

    return Probes(directory=_directory_problem, engine=engine)


def _directory_problem(where: Path) -> str | None:
    # (startup and what it imports, 12 ms, only where a Terraform directory is named)
    from tfhook.terraform.startup import directory_problem

    return directory_problem(where)
