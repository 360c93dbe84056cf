"""Checks on saved plans (`terraform show -json FILE`): removals a refresh would make, the
outputs before it, and what the configuration would change back on the next apply."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from tfhook.terraform.state import State

REVERT_HINT = "add it to lifecycle.ignore_changes or change the configuration"


@dataclass(frozen=True, slots=True)
class Removal:
    """An object a refresh-only plan would drop from the state (gone from the cloud)."""

    address: str
    id: str | None

    def __str__(self) -> str:
        return f"{self.address} (id {self.id})" if self.id else self.address


def parse(text: bytes) -> State:
    """The document `terraform show -json FILE` prints (an empty one when it is not JSON)."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def removals(plan: State) -> list[Removal]:
    """What a refresh-only plan would remove from the state, in address order."""
    found: dict[str, Removal] = {}
    for change in [*plan.get("resource_drift", []), *plan.get("resource_changes", [])]:
        if change.get("mode", "managed") != "managed":
            continue
        if "delete" not in change.get("change", {}).get("actions", []):
            continue
        before = change.get("change", {}).get("before") or {}
        ident = before.get("id") if isinstance(before, dict) else None
        address = str(change.get("address", "?"))
        found[address] = Removal(address, None if ident is None else str(ident))
    return [found[address] for address in sorted(found)]


def refused(found: list[Removal], deleted_ids: Collection[str], allowed: int) -> list[Removal]:
    """The removals to refuse: none when the unexpected ones are within `allowed`.

    A removal is expected when a DELETED event of the batch carries the object's id.
    """
    unexpected = [r for r in found if r.id is None or r.id not in deleted_ids]
    return unexpected if len(unexpected) > allowed else []


def prior_outputs(plan: State) -> dict[str, tuple[Any, bool]]:
    """Output name → (value, sensitive) before the refresh, in the state the plan read under
    Terraform's lock (`output_changes`' before; `prior_state` is the refreshed state)."""
    found = {}
    for name, change in (plan.get("output_changes") or {}).items():
        if "create" not in change.get("actions", []):
            found[name] = (change.get("before"), bool(change.get("before_sensitive")))
    return found


def reverts(plan: State) -> list[str]:
    """Each resource the configuration would change on the next apply, with its attributes."""
    lines = []
    for change in plan.get("resource_changes", []):
        if change.get("mode", "managed") != "managed":
            continue
        detail = change.get("change", {})
        what = _what(detail)
        if what:
            lines.append(f"{change.get('address', '?')}: {what} on the next apply; {REVERT_HINT}")
    return lines


def _what(change: dict[str, Any]) -> str:
    actions = change.get("actions", [])
    if actions in ([], ["no-op"], ["read"]):
        return ""
    if actions == ["create"]:
        return "created again"
    if actions == ["delete"]:
        return "destroyed"
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    sensitive = {**_flags(change.get("before_sensitive")), **_flags(change.get("after_sensitive"))}
    shown = [_attribute(name, before.get(name), after.get(name), name in sensitive,
                        bool(unknown.get(name)))
             for name in sorted(set(before) | set(after))
             if unknown.get(name) or before.get(name) != after.get(name)]
    verb = "replaced" if "delete" in actions else ""
    text = ", ".join(shown) or "changed"
    return f"{verb}: {text}" if verb else text


def _flags(value: Any) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v} if isinstance(value, dict) else {}


def _attribute(name: str, old: Any, new: Any, sensitive: bool, unknown: bool) -> str:
    if sensitive:
        return f"{name} (sensitive)"
    return f"{name} {_show(old)} -> {'(known after apply)' if unknown else _show(new)}"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
