"""Where an attribute's value comes from (#22): a root module variable, whole; a constant at
its place in a .tf file; or an expression converge cannot follow, and why.

Terraform's JSON of a saved plan (`configuration`) names what an expression refers to but
not the expression: `var.x`, `var.x * 2` and `"x-${var.x}"` all read `references:
["var.x"]`. So the expression's text and line come from the .tf files (tfhook.terraform.
hclscan); the JSON says which module a call's `source` puts where.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfhook.terraform import hclscan
from tfhook.terraform.hclscan import Attribute, Block

# What the autoscaler changes in place, by resource type: the variables whose whole value
# such an attribute is are converge's (a route's var or var_file must not set them too).
SCALED = {
    "sakuracloud_server": ("core", "memory"),
    "sakuracloud_proxylb": ("plan",),
    "sakuracloud_internet": ("band_width",),
    "simcloud_server": ("core", "memory"),
    "simcloud_elb": ("plan",),
}
_VARIABLE = re.compile(r'^(?:var\.([A-Za-z_][\w-]*)|"\$\{\s*var\.([A-Za-z_][\w-]*)\s*\}")$')
_LITERAL = re.compile(r'^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|"(?:[^"\\$%\n]|\\.)*")$')
_MODULE = re.compile(r'module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.')
COUNTED = ("scale-out or scale-in through count or for_each needs objects imported or removed, "
           "which converge does not do")


@dataclass(frozen=True, slots=True)
class Source:
    """Where the value of `attribute` of `address` comes from.

    `kind` is `variable` (a root module variable is the whole expression, directly or as a
    module call's argument that is exactly `var.NAME`), `constant` (a literal, `literal` is
    where it stands, its file relative to the Terraform directory) or `other` (`why` says
    why converge does not follow it).
    """

    kind: str
    where: str = ""  # file:line
    variable: str = ""
    literal: Attribute | None = None
    text: str = ""
    why: str = ""

    def describe(self) -> str:
        at = f" ({self.where})" if self.where else ""
        if self.kind == "variable":
            return f"set by var.{self.variable}{at}"
        if self.kind == "constant":
            return f"a constant in {self.where}"
        shown = f"set by `{self.text}`{at}: " if self.text else ""
        return f"{shown}{self.why}"


@dataclass(frozen=True, slots=True)
class _Level:
    """One module on the way from the root to a resource: its directory (relative to the
    root), its scanned blocks, and the call that made it (`` for the root)."""

    dir: Path
    blocks: list[Block]
    call: str


def find(plan: dict[str, Any], root: Path, address: str, attribute: str) -> Source:
    """Where the configuration sets `attribute` of the resource instance `address`."""
    try:
        return _find(plan, root, address, attribute)
    except (OSError, UnicodeDecodeError, hclscan.ScanError) as exc:
        return Source("other", why=f"the configuration could not be read: {exc}")


def _find(plan: dict[str, Any], root: Path, address: str, attribute: str) -> Source:
    if "." in attribute or "[" in attribute:
        return Source("other", why="a nested attribute: converge follows top-level ones only")
    levels = _levels(plan, root, address)
    if isinstance(levels, str):
        return Source("other", why=levels)
    kind, _, name = _resource(address).partition(".")
    block = hclscan.find(levels[-1].blocks, "resource", kind, name)
    found = block.attributes.get(attribute) if block else None
    if found is None:
        return Source("other", why=f"not set in a .tf file of {levels[-1].dir}")
    return _up(levels, found, root)


def _up(levels: list[_Level], found: Attribute, root: Path) -> Source:
    """Follow `var.NAME` from a module to the argument of its call, up to the root."""
    where = _where(levels[-1].dir, found)
    for depth in range(len(levels) - 1, -1, -1):
        text = found.text
        if _LITERAL.match(text):
            return Source("constant", where, literal=_relative(levels[depth].dir, found),
                          text=text)
        variable = _variable(text)
        if variable is None:
            return Source("other", where, text=text,
                          why="not exactly one variable, so converge writes nothing")
        if depth == 0:
            declared = hclscan.find(levels[0].blocks, "variable", variable)
            return Source("variable", _where(Path("."), declared) if declared else "",
                          variable=variable, text=text)
        call = hclscan.find(levels[depth - 1].blocks, "module", levels[depth].call)
        given = call.attributes.get(variable) if call else None
        if given is None:
            return Source("other", where, text=text, why=(
                f"module.{levels[depth].call} leaves var.{variable} at its default"))
        found, where = given, _where(levels[depth - 1].dir, given)
    raise AssertionError("unreachable")


def _levels(plan: dict[str, Any], root: Path, address: str) -> list[_Level] | str:
    """The modules from the root to the resource, or why they cannot be read."""
    config = (plan.get("configuration") or {}).get("root_module") or {}
    levels = [_Level(Path("."), hclscan.scan_dir(root), "")]
    for call_name in _MODULE.findall(address[:len(address) - len(_resource(address))]):
        call = (config.get("module_calls") or {}).get(call_name) or {}
        source = str(call.get("source", ""))
        if not source.startswith(("./", "../")):
            return f"module.{call_name} comes from {source or 'elsewhere'}, not this directory"
        where = Path(os.path.normpath(levels[-1].dir / source))
        levels.append(_Level(where, hclscan.scan_dir(root / where), call_name))
        config = call.get("module") or {}
    return levels


def _resource(address: str) -> str:
    """`module.a.simcloud_elb.main[0]` -> `simcloud_elb.main`."""
    last = _MODULE.sub("", address)
    return last.split("[", 1)[0]


def _variable(text: str) -> str | None:
    found = _VARIABLE.match(text)
    return None if found is None else found.group(1) or found.group(2)


def _relative(where: Path, found: Attribute) -> Attribute:
    return Attribute(found.name, found.text, where / found.file, found.line, found.start,
                     found.end)


def _where(where: Path, found: Attribute | Block) -> str:
    path = where / found.file
    return f"{path.as_posix()}:{found.line}"


def counted(plan: dict[str, Any], address: str) -> bool:
    """Whether the resource of `address` has count or for_each in the configuration."""
    config = (plan.get("configuration") or {}).get("root_module") or {}
    for call_name in _MODULE.findall(address):
        config = ((config.get("module_calls") or {}).get(call_name) or {}).get("module") or {}
    resource = _resource(address)
    return any(r.get("address") == resource and ("count_expression" in r
                                                 or "for_each_expression" in r)
               for r in config.get("resources", []))


def owned(root: Path) -> dict[str, str]:
    """The root variables converge would write: each that is the whole expression of an
    attribute the autoscaler changes (SCALED), directly or through module calls in this
    directory; name -> where that attribute is."""
    found: dict[str, str] = {}
    for name, at in _scaled_variables(root, Path("."), depth=0):
        found.setdefault(name, at)
    return found


def _scaled_variables(root: Path, where: Path, depth: int) -> list[tuple[str, str]]:
    blocks = hclscan.scan_dir(root / where)
    found = []
    for block in blocks:
        if block.kind == "resource" and block.labels and block.labels[0] in SCALED:
            for key in SCALED[block.labels[0]]:
                given = block.attributes.get(key)
                name = _variable(given.text) if given else None
                if given and name:
                    found.append((name, _where(where, given)))
        source = block.attributes.get("source") if block.kind == "module" else None
        local = source.text.strip('"') if source else ""
        if depth < 8 and local.startswith(("./", "../")):
            child = Path(os.path.normpath(where / local))
            for name, at in _scaled_variables(root, child, depth + 1):
                given = block.attributes.get(name)
                outer = _variable(given.text) if given else None
                if outer:
                    found.append((outer, at))
    return found
