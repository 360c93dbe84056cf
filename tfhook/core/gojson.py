"""Go `encoding/json` output for protobuf messages, as the reference handler writes it.

The reference marshals the generated Go struct, not the protobuf JSON mapping, so:
keys are proto field names in declaration order, zero values are omitted, enums are
numbers, and a oneof becomes `"<GoOneofName>": {"<GoFieldName>": {...}}` (or null).
Strings are escaped like Go 1.22+ with HTML escaping on. See the wire contract.

Speed (#9): what a message type needs is read from its descriptor once and kept as a
plan of plain tuples, so a call touches no descriptor. Presence is asked per field as
before (`HasField` for messages, truthiness otherwise): this measured faster than one
`ListFields()` call for the requests the Core sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

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
# How a field's presence is asked: a non-empty list or a non-zero scalar, a set message,
# or, for a oneof, which member is set.
_VALUE, _MESSAGE, _ONEOF = 0, 1, 2
# (how, field or oneof name, '"key":', writer; for a oneof, one writer per member name)
_Entry = tuple[int, str, str, Any]
_PLANS: dict[type, tuple[_Entry, ...]] = {}


def go_name(proto_name: str) -> str:
    """The Go identifier protoc-gen-go makes from a proto name (`load_balancer` → `LoadBalancer`)."""
    return "".join(part[:1].upper() + part[1:] for part in proto_name.split("_"))


def go_escaped(python_json: str) -> str:
    """Compact JSON from Python's json module (ensure_ascii off) as Go writes it: the same
    text but for Go's extra escapes (the characters they touch only occur in strings)."""
    return python_json.translate(_GO_EXTRA)


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
    return _body(message, _PLANS.get(message.__class__) or _plan(message.__class__))


def _messages(values: Any) -> str:
    if not values:
        return "[]"
    # The items of a list are all of one type: its plan is looked up once.
    plan = _PLANS.get(values[0].__class__) or _plan(values[0].__class__)
    return "[" + ",".join([_body(value, plan) for value in values]) + "]"


def _body(message: Any, plan: tuple[_Entry, ...]) -> str:
    parts = []
    for how, name, key, write in plan:
        if how == _VALUE:
            value = getattr(message, name)
            if value:
                parts.append(key + write(value))
        elif how == _MESSAGE:
            if message.HasField(name):
                parts.append(key + write(getattr(message, name)))
        else:  # a oneof is written even when unset
            member = message.WhichOneof(name)
            parts.append(key + ("null" if member is None else
                                write[member](getattr(message, member))))
    return "{" + ",".join(parts) + "}"


def _plan(cls: type) -> tuple[_Entry, ...]:
    plan: list[_Entry] = []
    oneofs: dict[str, dict[str, _Write]] = {}  # a oneof sits at the place of its first member
    for field in cls.DESCRIPTOR.fields:  # type: ignore[attr-defined]
        oneof = field.containing_oneof
        if oneof is None:
            single_message = field.type == _TYPE_MESSAGE and not field.is_repeated
            how = _MESSAGE if single_message else _VALUE
            plan.append((how, field.name, f'"{field.name}":', _writer(field)))
            continue
        if oneof.name not in oneofs:
            oneofs[oneof.name] = {}
            plan.append((_ONEOF, oneof.name, f'"{go_name(oneof.name)}":', oneofs[oneof.name]))
        oneofs[oneof.name][field.name] = _variant(go_name(field.name), _writer(field))
    _PLANS[cls] = result = tuple(plan)
    return result


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
    if not field.is_repeated:
        return write
    return _messages if write is _message else _list(write)


def _list(write: _Write) -> _Write:
    def items(values: Any) -> str:
        return "[" + ",".join([write(value) for value in values]) + "]"

    return items


def _variant(go: str, write: _Write) -> _Write:
    def variant(value: Any) -> str:
        return '{"' + go + '":' + write(value) + "}"

    return variant
