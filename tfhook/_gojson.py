"""Go `encoding/json` output for protobuf messages, as the reference handler writes it.

The reference marshals the generated Go struct, not the protobuf JSON mapping, so:
keys are proto field names in declaration order, zero values are omitted, enums are
numbers, and a oneof becomes `"<GoOneofName>": {"<GoFieldName>": {...}}` (or null).
Strings are escaped like Go 1.22+ with HTML escaping on. See the wire contract.
"""

from __future__ import annotations

import json
from typing import Any

# Go escapes these on top of what Python's json module escapes (with ensure_ascii off,
# Python already writes \" \\ \b \f \n \r \t and \u00XX in lowercase for other controls).
_GO_EXTRA = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_encode_str = json.JSONEncoder(ensure_ascii=False).encode

# FieldDescriptor type numbers (stable protobuf constants).
_TYPE_MESSAGE = 11
_TYPE_BOOL = 8
_TYPE_STRING = 9


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
    out: list[str] = []
    _message(message, out)
    return "".join(out).encode("utf-8")


def _string(value: str) -> str:
    return _encode_str(value).translate(_GO_EXTRA)


def _scalar(field: Any, value: Any) -> str:
    if field.type == _TYPE_STRING:
        return _string(value)
    if field.type == _TYPE_BOOL:
        return "true" if value else "false"
    return str(int(value))  # integers and enums (enums as numbers, open values kept)


def _message(message: Any, out: list[str]) -> None:
    out.append("{")
    first = True
    seen_oneofs: set[str] = set()
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None:
            # A real oneof is one struct field at the place of its first member.
            if oneof.name in seen_oneofs:
                continue
            seen_oneofs.add(oneof.name)
            first = _sep(out, first)
            out.append(f'"{go_name(oneof.name)}":')
            _oneof(message, oneof.name, out)
            continue
        if not _present(message, field):
            continue
        first = _sep(out, first)
        out.append(f'"{field.name}":')
        _value(field, getattr(message, field.name), out)
    out.append("}")


def _sep(out: list[str], first: bool) -> bool:
    if not first:
        out.append(",")
    return False


def _present(message: Any, field: Any) -> bool:
    if field.is_repeated:
        return len(getattr(message, field.name)) > 0
    if field.type == _TYPE_MESSAGE:
        return bool(message.HasField(field.name))
    return bool(getattr(message, field.name))


def _value(field: Any, value: Any, out: list[str]) -> None:
    if field.is_repeated:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _item(field, item, out)
        out.append("]")
    else:
        _item(field, value, out)


def _item(field: Any, value: Any, out: list[str]) -> None:
    if field.type == _TYPE_MESSAGE:
        _message(value, out)
    else:
        out.append(_scalar(field, value))


def _oneof(message: Any, oneof_name: str, out: list[str]) -> None:
    member = message.WhichOneof(oneof_name)
    if member is None:
        out.append("null")
        return
    field = message.DESCRIPTOR.fields_by_name[member]
    out.append(f'{{"{go_name(member)}":')
    _value(field, getattr(message, member), out)
    out.append("}")
