"""`routes check`: the start-up checks of every Terraform directory of a routes file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tfhook.core.hooks import Hook, TerraformAction
from tfhook.errors import TfhookError
from tfhook.terraform.directory import Directory


async def check_all(hooks: Sequence[Hook], env: dict[str, str]) -> list[str]:
    """`routes check`: the start-up checks of every Terraform directory, every problem.

    A directory whose route asks for `init` is left to start-up: checking it would need
    `terraform init`, which changes the directory.
    """
    problems: list[str] = []
    seen: set[Path] = set()
    for hook in hooks:
        if not isinstance(hook.action, TerraformAction) or hook.action.init:
            continue
        if hook.action.dir in seen:
            continue
        seen.add(hook.action.dir)
        try:
            await Directory(hook, env).check(init=False)
        except TfhookError as exc:  # also a check that timed out or could not start
            problems.append(" ".join(str(exc).split()))
    return problems
