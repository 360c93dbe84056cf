"""Checks on saved plans (`terraform show -json FILE`): removals a refresh would make, a state
that is missing, the outputs before it, and what the configuration would change back on the
next apply."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from tfhook.terraform import state
from tfhook.terraform.events import listing
from tfhook.terraform.state import State

REVERT_HINT = "add it to lifecycle.ignore_changes or change the configuration"
# ignore_changes cannot stop an object the cloud lost from being created again.
GONE_HINT = "remove it from the configuration (and any import block naming it) if it should stay gone"
GONE = "gone from the cloud"  # what a drift that removes an object changed


@dataclass(frozen=True, slots=True)
class Removal:
    """An object a refresh-only plan would drop from the state (gone from the cloud)."""

    address: str
    id: str | None

    def __str__(self) -> str:
        return f"{self.address} (id {self.id})" if self.id else self.address


def parse(text: bytes) -> State:
    """The document `terraform show -json FILE` prints (an empty one when it is not JSON)."""
    return state.parse(text) or {}


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


def _drift(plan: State) -> Iterator[dict[str, Any]]:
    """The managed objects (with an address) a refresh-only plan found changed or gone."""
    for change in plan.get("resource_drift", []):
        if change.get("mode", "managed") == "managed" and "address" in change:
            yield change


def drifted(plan: State) -> list[str]:
    """Addresses of the managed objects a refresh-only plan found changed or gone."""
    return sorted({str(change["address"]) for change in _drift(plan)})


@dataclass(frozen=True, slots=True)
class Drifted:
    """A managed object a refresh-only plan found changed (`what`: `plan 100 -> 400`) or
    gone (`gone`); `id` is its cloud id before (or after) the refresh, "" when it has none."""

    address: str
    what: str
    id: str
    gone: bool


def drifts(plan: State) -> list[Drifted]:
    """Each managed object a refresh-only plan found changed, in address order: the
    attributes, where the stream only says `update`."""
    found = []
    for change in _drift(plan):
        detail = change.get("change", {})
        gone = "delete" in detail.get("actions", [])
        what = GONE if gone else (_what(detail) or "changed")
        ident = _id(detail.get("before")) or _id(detail.get("after"))
        found.append(Drifted(str(change["address"]), what, ident, gone))
    return sorted(found, key=lambda d: d.address)


def _id(values: Any) -> str:
    ident = values.get("id") if isinstance(values, dict) else None
    return "" if ident is None else str(ident)


def refused(found: list[Removal], deleted_ids: Collection[str], allowed: int) -> list[Removal]:
    """The removals to refuse: none when the unexpected ones are within `allowed`.

    A removal is expected when a DELETED event of the batch carries the object's id.
    """
    unexpected = [r for r in found if r.id is None or r.id not in deleted_ids]
    return unexpected if len(unexpected) > allowed else []


def missing_state(plan: State) -> str:
    """What is wrong with the state a refresh-only plan read, or "" when nothing is: it holds
    no managed resource while the configuration declares some (a lost state, the wrong
    workspace or backend, a directory never applied), or the plan has changes Terraform
    will not apply (`terraform apply` says "Cannot apply non-applyable plan")."""
    names = declared(plan)
    if names and not _had_resources(plan):
        return ("the state it read holds no managed resources, yet "
                + listing("the configuration declares", names))
    found = changes(plan)
    if found and not plan.get("applyable", True):
        return "Terraform calls the refresh plan not applyable, yet " + listing("it changes",
                                                                               found)
    return ""


def declared(plan: State) -> list[str]:
    """The managed resources the configuration declares (root module and module calls),
    leaving out those (and the module calls) whose count or for_each is a constant zero or
    empty, or exactly one variable whose value in this plan is zero or empty."""
    root = plan.get("configuration", {}).get("root_module", {})
    values = {name: v["value"] for name, v in (plan.get("variables") or {}).items()
              if isinstance(v, dict) and "value" in v}
    return sorted(_declared(root, "", values))


def _declared(module: dict[str, Any], prefix: str, values: dict[str, Any]) -> Iterator[str]:
    """`values`: the module's variables whose value the plan shows (the root module's
    values; a module call's constant arguments and the defaults it leaves alone)."""
    for resource in module.get("resources", []):
        if resource.get("mode") == "managed" and not _never(resource, values):
            yield prefix + str(resource.get("address", "?"))
    for name, call in (module.get("module_calls") or {}).items():
        if not _never(call, values):
            child = call.get("module") or {}
            yield from _declared(child, f"{prefix}module.{name}.", _arguments(call, child))


def _arguments(call: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """A module call's variables whose values are constants: its arguments, or the
    defaults of the variables it does not set."""
    found = {}
    arguments = call.get("expressions") or {}
    for name, variable in (child.get("variables") or {}).items():
        given = arguments.get(name)
        if isinstance(given, dict) and "constant_value" in given:
            found[name] = given["constant_value"]
        elif given is None and isinstance(variable, dict) and "default" in variable:
            found[name] = variable["default"]
    return found


def _never(resource: dict[str, Any], values: dict[str, Any]) -> bool:
    """The resource (or module call) has no instance: its `count` or `for_each` is a
    constant zero or empty, or is one variable that is zero or empty here.

    The plan names what an expression refers to, not the expression: `count = var.n + 1`
    refers to ["var.n"] too. Terraform's JSON gives nothing better short of parsing the
    configuration; `count = var.n` and `for_each = var.set` are the common forms.
    """
    for key in ("count_expression", "for_each_expression"):
        expression = resource.get(key)
        if not isinstance(expression, dict):
            continue
        if "constant_value" in expression:
            return not expression["constant_value"]
        references = expression.get("references")
        if isinstance(references, list) and len(references) == 1 \
                and str(references[0]).startswith("var."):
            name = str(references[0]).removeprefix("var.")
            return name in values and _empty(values[name])
    return False


def _empty(value: Any) -> bool:
    """A count of 0 or an empty for_each (list, set or map); null is unset, not empty."""
    return (value == 0 and not isinstance(value, bool)) or value in ([], {})


def _had_resources(plan: State) -> bool:
    """Whether the state the plan read held a managed resource: one in the refreshed state
    (`prior_state`), or one the refresh found changed or gone."""
    root = (plan.get("prior_state") or {}).get("values", {}).get("root_module") or {}
    return _holds_managed(root) or bool(drifted(plan))


def _holds_managed(module: dict[str, Any]) -> bool:
    if any(r.get("mode") == "managed" for r in module.get("resources", [])):
        return True
    return any(_holds_managed(child) for child in module.get("child_modules", []))


def changes(plan: State) -> list[str]:
    """What a refresh-only plan changes: drifted objects, resource changes, outputs."""
    found = set(drifted(plan))
    found |= {str(change.get("address", "?")) for change in plan.get("resource_changes", [])
              if change.get("change", {}).get("actions", []) not in ([], ["no-op"], ["read"])}
    found |= {f"output {name}" for name, change in (plan.get("output_changes") or {}).items()
              if change.get("actions", []) not in ([], ["no-op"])}
    return sorted(found)


def prior_outputs(plan: State) -> dict[str, tuple[Any, bool]]:
    """Output name → (value, sensitive) before the refresh, in the state the plan read under
    Terraform's lock (`output_changes`' before; `prior_state` is the refreshed state)."""
    found = {}
    for name, change in (plan.get("output_changes") or {}).items():
        if "create" not in change.get("actions", []):
            found[name] = (change.get("before"), bool(change.get("before_sensitive")))
    return found


def reverts(plan: State, hint: Callable[[dict[str, Any], str], str] | None = None
            ) -> list[str]:
    """Each resource the configuration would change on the next apply, with its attributes;
    `hint(change, default)` words what to do about one (converge says where it is set)."""
    lines = []
    for change in plan.get("resource_changes", []):
        if change.get("mode", "managed") != "managed":
            continue
        detail = change.get("change", {})
        what = _what(detail)
        if what:
            default = GONE_HINT if what == "created again" else REVERT_HINT
            shown = default if hint is None else hint(change, default)
            lines.append(f"{change.get('address', '?')}: {what} on the next apply; {shown}")
    return lines


def _what(change: dict[str, Any]) -> str:
    actions = change.get("actions", [])
    if actions in ([], ["no-op"], ["read"]):
        return ""
    if actions == ["create"]:
        return "created again"
    if actions == ["delete"]:
        return "destroyed"
    shown = _differences("", change.get("before") or {}, change.get("after") or {},
                         change.get("after_unknown") or {},
                         _merged(change.get("before_sensitive"), change.get("after_sensitive")))
    # Computed attributes the change makes unknown follow from the others: name those.
    known = [line for line in shown if not line.endswith("(known after apply)")]
    verb = "replaced" if "delete" in actions else ""
    text = ", ".join(known or shown) or "changed"
    return f"{verb}: {text}" if verb else text


def attribute_changes(before: Any, after: Any, sensitive: Any = None) -> list[str]:
    """`path old -> new` for each attribute that differs (nested objects by their keys);
    `sensitive`: True, or the attributes' nested flags, hides the values."""
    return _differences("", before, after, {}, sensitive)


def _differences(prefix: str, before: Any, after: Any, unknown: Any, sensitive: Any
                 ) -> list[str]:
    """`path old -> new` for each attribute that differs, nested objects by their keys."""
    if sensitive is True:
        return [f"{prefix} (sensitive)"] if before != after or unknown else []
    if unknown is True:
        return [f"{prefix} {_show(before)} -> (known after apply)"]
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            found += _differences(f"{prefix}.{key}" if prefix else key, before.get(key),
                                  after.get(key), _at(unknown, key), _at(sensitive, key))
        return found
    return [f"{prefix} {_show(before)} -> {_show(after)}"] if before != after else []


def _at(flags: Any, key: str) -> Any:
    return flags.get(key) if isinstance(flags, dict) else None


def _merged(before: Any, after: Any) -> Any:
    if before is True or after is True:
        return True
    if isinstance(before, dict) or isinstance(after, dict):
        b = before if isinstance(before, dict) else {}
        a = after if isinstance(after, dict) else {}
        return {k: _merged(b.get(k), a.get(k)) for k in set(b) | set(a)}
    return None


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
