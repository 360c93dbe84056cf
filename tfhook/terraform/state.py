"""Look-ups in a Terraform state document: outputs, and resources by cloud id."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from tfhook.process import spawn as process

State = dict[str, Any]


def read_local(directory: Path) -> dict[str, Any] | None:
    """The local state file of a directory (default local backend), or None."""
    path = directory / "terraform.tfstate"
    if not path.is_file():
        return None
    try:
        data = parse(path.read_bytes())
    except OSError:
        return None
    return data if data is not None and "version" in data else None


def parse(text: bytes) -> dict[str, Any] | None:
    """A state document as `terraform state pull` prints it."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def dump(document: dict[str, Any]) -> bytes:
    """A state document as Terraform writes it (`terraform state push` reads it)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def outputs(state: dict[str, Any] | None) -> dict[str, tuple[Any, bool]]:
    """Output name → (value, sensitive)."""
    if not state:
        return {}
    return {name: (out.get("value"), bool(out.get("sensitive")))
            for name, out in state.get("outputs", {}).items()}


def addresses_with_ids(state: dict[str, Any] | None, ids: Collection[str]) -> list[str]:
    """Addresses of managed resource instances whose `id` attribute is one of ids."""
    if not state or not ids:
        return []
    found = []
    for resource in state.get("resources", []):
        if resource.get("mode") != "managed":
            continue
        base = f"{resource['type']}.{resource['name']}"
        if resource.get("module"):
            base = f"{resource['module']}.{base}"
        for instance in resource.get("instances", []):
            if instance.get("attributes", {}).get("id") in ids:
                found.append(base + index(instance.get("index_key")))
    return found


def index(key: Any) -> str:
    """An instance's index as its address writes it: `[0]`, `["a"]`, or none."""
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return f'["{key}"]'


async def pull(spec: process.Spec) -> dict[str, Any] | None:
    """The state `terraform state pull` prints (a configured backend), or None."""
    output, exit_ = await process.capture(spec)
    return parse(output) if exit_.returncode == 0 else None
