"""Go `encoding/json` output for protobuf messages, as the reference handler writes it.

The reference marshals the generated Go struct, not the protobuf JSON mapping, so:
keys are proto field names in declaration order, zero values are omitted, enums are
numbers, and a oneof becomes `"<GoOneofName>": {"<GoFieldName>": {...}}` (or null).
Strings are escaped like Go 1.22+ with HTML escaping on. See the wire contract.

Speed (#9): what a message type needs is read from its descriptor once and kept as a
`_Plan`; a call then asks each message only `ListFields()`, one C call that returns the
fields Go writes (proto3 without `optional`: set messages, non-empty lists, non-zero
scalars), and touches nothing but Python tuples and dicts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, NamedTuple

# Go escapes these on top of what Python's json module escapes (with ensure_ascii off,
# Python already writes \" \\ \b \f \n \r \t and \u00XX in lowercase for other controls).
_GO_EXTRA = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
# Every character either escaping touches; a string without one is written as it is.
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029]')

# FieldDescriptor type numbers (stable protobuf constants).
_TYPE_MESSAGE = 11
_TYPE_BOOL = 8
_TYPE_STRING = 9
_TYPE_ENUM = 14
_INTEGER_TYPES = frozenset({3, 4, 5, 6, 7, 13, 15, 16, 17, 18, _TYPE_ENUM})

_Write = Callable[[Any], str]


class _Plan(NamedTuple):
    """What one message type needs at each call, read once from its descriptor."""

    fields: dict[Any, tuple[int, str, _Write]]  # descriptor -> (place, '"key":', writer)
    nulls: tuple[tuple[int, str, str], ...]  # per oneof: (place, name, '"GoName":null')
    empty: str  # the JSON of the message with nothing set
    in_order: bool  # field-number order (ListFields' order) is declaration order


_PLANS: dict[type, _Plan] = {}


def go_name(proto_name: str) -> str:
    """The Go identifier protoc-gen-go makes from a proto name (`load_balancer` → `LoadBalancer`)."""
    return "".join(part[:1].upper() + part[1:] for part in proto_name.split("_"))


def dumps(message: Any) -> bytes:
    """Serialise a message exactly as the reference handler's `json.Marshal` does.

    Args:
        message: any generated protobuf message.

    Returns:
        Compact UTF-8 JSON bytes, no trailing newline.
    """
    return _message(message).encode("utf-8")


def _string(value: str) -> str:
    if _NEEDS_ESCAPE.search(value) is None:
        return '"' + value + '"'
    return encode_basestring(value).translate(_GO_EXTRA)


def _bool(value: Any) -> str:
    return "true" if value else "false"


def _number(value: Any) -> str:
    return str(int(value))  # enums as numbers, open values kept


def _message(message: Any) -> str:
    plan = _PLANS.get(message.__class__) or _plan(message.__class__)
    listed = message.ListFields()
    if not listed:
        return plan.empty
    fields = plan.fields
    if plan.in_order:
        return "{" + ",".join([_field(fields[field], value) for field, value in listed]) + "}"
    parts = [(fields[field][0], _field(fields[field], value)) for field, value in listed]
    for place, name, null in plan.nulls:
        if message.WhichOneof(name) is None:
            parts.append((place, null))  # a oneof is written even when unset
    parts.sort()
    return "{" + ",".join([text for _, text in parts]) + "}"


def _field(entry: tuple[int, str, _Write], value: Any) -> str:
    return entry[1] + entry[2](value)


def _plan(cls: type) -> _Plan:
    descriptor: Any = cls.DESCRIPTOR  # type: ignore[attr-defined]
    fields: dict[Any, tuple[int, str, _Write]] = {}
    nulls: list[tuple[int, str, str]] = []
    places: dict[str, int] = {}  # a oneof sits at the place of its first member
    for place, field in enumerate(descriptor.fields):
        oneof = field.containing_oneof
        if oneof is None:
            fields[field] = (place, f'"{field.name}":', _writer(field))
            continue
        if oneof.name not in places:
            places[oneof.name] = place
            nulls.append((place, oneof.name, f'"{go_name(oneof.name)}":null'))
        fields[field] = (places[oneof.name], f'"{go_name(oneof.name)}":',
                         _variant(go_name(field.name), _writer(field)))
    by_number = [fields[field][0] for field in sorted(fields, key=lambda field: field.number)]
    plan = _Plan(fields, tuple(nulls), "{" + ",".join(null for _, _, null in nulls) + "}",
                 not nulls and by_number == sorted(by_number))
    _PLANS[cls] = plan
    return plan


def _writer(field: Any) -> _Write:
    if field.type == _TYPE_MESSAGE:
        write: _Write = _message
    elif field.type == _TYPE_STRING:
        write = _string
    elif field.type == _TYPE_BOOL:
        write = _bool
    elif field.type in _INTEGER_TYPES:
        write = str  # protobuf hands integers and enums over as int
    else:
        write = _number
    return _list(write) if field.is_repeated else write


def _list(write: _Write) -> _Write:
    def items(values: Any) -> str:
        return "[" + ",".join([write(value) for value in values]) + "]"

    return items


def _variant(go: str, write: _Write) -> _Write:
    def variant(value: Any) -> str:
        return '{"' + go + '":' + write(value) + "}"

    return variant
