"""The Terraform checks the option rules borrow (config may not import Terraform)."""

from __future__ import annotations

from collections.abc import Mapping

from tfhook.config.values import Probes
from tfhook.errors import UserError
from tfhook.terraform import engine as engines
from tfhook.terraform.startup import directory_problem


def probes(env: Mapping[str, str]) -> Probes:
    """What a routes file or serve's flags are checked with: a Terraform directory's
    problem, and an engine choice's (resolved in `env`, as the runs will be)."""

    def engine(choice: str) -> str | None:
        try:
            engines.choose(choice, env, "")
        except UserError as exc:
            return str(exc)
        return None

    return Probes(directory=directory_problem, engine=engine)
