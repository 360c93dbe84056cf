"""Read Terraform's `-json` output: progress lines, and a report an operator can read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_PROGRESS = {"refresh_start", "refresh_complete", "apply_start", "apply_complete",
             "apply_errored", "resource_drift"}
# What a plan's stream says on the way to "nothing to do"; any other kind of message (a
# deferred change, an action, one a newer Terraform adds) means the plan must be shown.
_PLAN_QUIET = {"version", "log", "diagnostic", "refresh_start", "refresh_complete",
               "apply_start", "apply_progress", "apply_complete", "change_summary", "outputs",
               "resource_drift", "planned_change", "ephemeral_op_start",
               "ephemeral_op_progress", "ephemeral_op_complete"}
LOCK_SUMMARY = "Error acquiring the state lock"
_LIST = 10


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One of Terraform's diagnostics (summary, detail, where)."""

    severity: str
    summary: str
    detail: str = ""
    where: str = ""

    def text(self, detail_lines: int = 12) -> str:
        lines = self.detail.strip().splitlines()[:detail_lines]
        head = f"{self.summary}" + (f" ({self.where})" if self.where else "")
        return "\n".join([head, *("  " + line for line in lines)])


@dataclass
class Report:
    """What a run did, accumulated from its events."""

    version: str = ""
    refreshed: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    planned: dict[str, str] = field(default_factory=dict)  # output → planned action
    changes: list[str] = field(default_factory=list)  # planned resource changes (a plan)
    summary: bool = False  # a plan's change summary was read: its stream is complete
    # A managed resource of the state was refreshed: the state the plan read is not empty.
    state_read: bool = False
    unusual: list[str] = field(default_factory=list)  # kinds of message outside _PLAN_QUIET
    diagnostics: list[Diagnostic] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # lines that were not JSON

    def feed(self, raw: bytes) -> str | None:
        """Take one line of output; return a progress line for the operator, if any."""
        try:
            event = json.loads(raw)
        except ValueError:
            text = raw.decode("utf-8", "replace").strip()
            if text:
                self.other.append(text)
            return None
        if not isinstance(event, dict):
            return None
        kind = event.get("type")
        message = str(event.get("@message", ""))
        if not isinstance(kind, str):
            self.unusual.append(repr(kind))
            return None
        if kind not in _PLAN_QUIET:
            self.unusual.append(kind)
        if kind == "version":
            self.version = str(event.get("terraform", ""))
        elif kind in ("refresh_complete", "apply_complete"):
            self._refreshed(event)
            self.state_read |= kind == "refresh_complete" and _managed(event)
        elif kind == "resource_drift":
            change = event.get("change", {})
            self.drifted.append(f"{change.get('resource', {}).get('addr', '?')} "
                                f"({change.get('action', 'changed')})")
        elif kind == "outputs" and _has_values(event.get("outputs", {})):
            self.outputs = event["outputs"]
        elif kind == "outputs":
            self.planned = {name: str(out.get("action", ""))
                            for name, out in event.get("outputs", {}).items()}
        elif kind == "change_summary":
            self.summary = True
        elif kind == "planned_change":
            self.changes.append(str(event.get("change", {}).get("resource", {}).get("addr")))
        elif kind == "diagnostic":
            self.diagnostics.append(diagnostic(event.get("diagnostic", {})))
        return message if kind in _PROGRESS and message else None

    def _refreshed(self, event: dict[str, Any]) -> None:
        hook = event.get("hook", {})
        if event["type"] == "apply_complete" and hook.get("action") != "read":
            return
        address = hook.get("resource", {}).get("addr")
        if address:
            self.refreshed.append(address)

    @property
    def unchanged(self) -> bool:
        """A plan that read to its end and found nothing: no drift, no change, every
        output as it was (nothing to check or apply)."""
        return (self.summary and not self.drifted and not self.changes and not self.errors
                and not self.unusual
                and all(action == "noop" for action in self.planned.values()))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def output_changes(self, before: dict[str, tuple[Any, bool]]) -> list[str]:
        """`name: old → new` for each output whose value changed (sensitive ones hidden)."""
        changes = []
        for name, new in sorted(self.outputs.items()):
            if "value" not in new:  # Terraform never prints a sensitive value: ask the plan
                if self.planned.get(name, "noop") != "noop":
                    changes.append(f"{name}: (sensitive value changed)")
                continue
            sensitive = bool(new.get("sensitive")) or before.get(name, (None, False))[1]
            old_value = before[name][0] if name in before else None
            if name in before and old_value == new.get("value"):
                continue
            if sensitive:
                changes.append(f"{name}: (sensitive value changed)")
            elif name not in before:
                changes.append(f"{name}: (new) → {_show(new.get('value'))}")
            else:
                changes.append(f"{name}: {_show(old_value)} → {_show(new.get('value'))}")
        changes += [f"{name}: removed" for name in sorted(set(before) - set(self.outputs))
                    if self.outputs]
        return changes


def listing(title: str, items: list[str], sep: str = ", ") -> str:
    """`title N: a, b, c and 3 more` (`sep` between items)."""
    if not items:
        return f"{title}: none"
    shown = sep.join(items[:_LIST])
    more = f" and {len(items) - _LIST} more" if len(items) > _LIST else ""
    return f"{title} {len(items)}: {shown}{more}"


def _managed(event: dict[str, Any]) -> bool:
    """A hook event about a managed resource (data sources are read, not refreshed)."""
    resource = str(event.get("hook", {}).get("resource", {}).get("resource", ""))
    return bool(resource) and not resource.startswith("data.")


def _has_values(outputs: dict[str, Any]) -> bool:
    # The planned `outputs` event has actions; the final one has values.
    return all("action" not in out for out in outputs.values())


def diagnostic(data: dict[str, Any]) -> Diagnostic:
    where = ""
    rng = data.get("range")
    if isinstance(rng, dict) and rng.get("filename"):
        where = f"{rng['filename']}:{rng.get('start', {}).get('line', '?')}"
    return Diagnostic(str(data.get("severity", "error")), str(data.get("summary", "")),
                      str(data.get("detail", "")), where)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."
