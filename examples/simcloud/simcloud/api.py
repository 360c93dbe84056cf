"""The simulated cloud API: one JSON file of objects by kind and id (standard library only).

    {"serial": 3,
     "elb":    {"113300000001": {"name": "demo-elb", "plan": 100, "vip": "192.0.2.10",
                                 "servers": ["113300000101"]}},
     "server": {"113300000101": {"name": "web0", "core": 1, "memory": 2}}}

The provider creates, reads, updates and deletes objects here; tests and the demo change them
behind Terraform's back. Writes go through a lock file and an atomic rename, so a reader never
sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

KINDS = ("elb", "server")
FIRST_ID = {"elb": 113300000001, "server": 113300000101}
Cloud = dict[str, Any]


def load(path: str | Path) -> Cloud:
    """The whole cloud; an empty one if the file does not exist yet."""
    try:
        with open(path, encoding="utf-8") as f:
            cloud: Cloud = json.load(f)
    except FileNotFoundError:
        cloud = {"serial": 0}
    for kind in KINDS:
        cloud.setdefault(kind, {})
    return cloud


@contextlib.contextmanager
def change(path: str | Path) -> Iterator[Cloud]:
    """Load the cloud under a lock, let the caller change it, then save it (serial + 1)."""
    with open(f"{path}.lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cloud = load(path)
        yield cloud
        cloud["serial"] = cloud.get("serial", 0) + 1
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cloud, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)


def get(path: str | Path, kind: str, object_id: str) -> dict[str, Any] | None:
    """One object, or None when the cloud has no such object."""
    found: dict[str, Any] | None = load(path)[kind].get(object_id)
    return found


def create(path: str | Path, kind: str, fields: dict[str, Any]) -> str:
    """Add an object with the next free id of its kind; returns the id."""
    with change(path) as cloud:
        taken = [int(i) for i in cloud[kind]]
        object_id = str(max([FIRST_ID[kind] - 1, *taken, cloud.get(f"last_{kind}", 0)]) + 1)
        cloud[f"last_{kind}"] = int(object_id)  # ids are never reused, as in a real cloud
        cloud[kind][object_id] = fields
    return object_id


def put(path: str | Path, kind: str, object_id: str, **fields: Any) -> dict[str, Any]:
    """Change some fields of an existing object; returns the object. KeyError if missing."""
    with change(path) as cloud:
        obj: dict[str, Any] = cloud[kind][object_id]
        obj.update(fields)
    return obj


def delete(path: str | Path, kind: str, object_id: str) -> bool:
    """Remove an object; False if there was none."""
    with change(path) as cloud:
        return cloud[kind].pop(object_id, None) is not None
