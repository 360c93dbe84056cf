"""What a request costs in conversion, estimated from its wire bytes before it is parsed.

Parsing (upb) and building the Go JSON cost memory per field, not per wire byte: an empty
message is 2-3 bytes on the wire but ~190 bytes parsed and ~70 more while its JSON is
built. 3.7 MiB of them took 68 → 380 MiB; 32 at once 2.1 GiB. So the fields are counted
(nested messages followed, packed scalars counted per byte) by a walk of the wire format
that stops as soon as the estimate passes what may be spent.

Measured peaks (parse + Go JSON, per field): empty disks 261 bytes, NICs 128, GSLB servers
126, tags 112, packed ports 90; a 3 MiB string costs 5 times its bytes.
"""

from __future__ import annotations

from typing import Any

PER_FIELD = 272  # bytes; above the largest measured (261)
PER_WIRE_BYTE = 6  # bytes; above the measured 5 (a request that is one long string)
# Per message type: field number → the nested plan for a message field, None for a packed
# scalar field; other fields are counted and skipped.
_Plan = dict[int, Any]
_PLANS: dict[Any, _Plan] = {}


class Malformed(ValueError):
    """The bytes are not a protobuf message (parsing would refuse them too)."""


def estimate(data: bytes, descriptor: Any, most: int) -> int:
    """Bytes converting `data` (a `descriptor` message) may take at the peak; once past
    `most` the walk stops and returns a figure above `most`.

    Raises:
        Malformed: the bytes end inside a field or hold an invalid wire type.
    """
    fixed = PER_WIRE_BYTE * len(data)
    bound = fixed + PER_FIELD * len(data)  # at most one field per byte
    if bound <= most // 64:  # a small request: its bound is nothing to the budget, and
        return bound  # cheaper than the walk (25 µs for 67 bytes); parsing checks its bytes
    items = _count(memoryview(data), _plan(descriptor), max((most - fixed) // PER_FIELD, 0))
    return fixed + items * PER_FIELD


def _plan(descriptor: Any) -> _Plan:
    plan = _PLANS.get(descriptor)
    if plan is None:
        plan = _PLANS[descriptor] = {}  # before recursing: message types may nest
        for field in descriptor.fields:
            if field.message_type is not None:
                plan[field.number] = _plan(field.message_type)
            elif field.is_repeated and field.type not in (9, 12):  # not string, bytes
                plan[field.number] = None
    return plan


def _count(data: memoryview, plan: _Plan, most: int) -> int:
    """Fields in `data`, nested ones included; stops once past `most`."""
    items, pending = 0, [(0, len(data), plan)]
    try:
        while pending and items <= most:
            pos, end, plan = pending.pop()
            while pos < end and items <= most:
                tag, pos = _varint(data, pos)
                items += 1
                kind = tag & 7
                if kind == 2:
                    size, pos = _varint(data, pos)
                    if pos + size > end:
                        raise Malformed("a field runs past its message")
                    if size and (tag >> 3) in plan:
                        nested = plan[tag >> 3]
                        if nested is None:
                            items += size  # a packed scalar: at most one per byte
                        else:
                            pending.append((pos, pos + size, nested))
                    pos += size
                elif kind == 0:
                    _, pos = _varint(data, pos)
                elif kind in (1, 5):
                    pos += 8 if kind == 1 else 4
                elif kind not in (3, 4):  # group start and end carry nothing themselves
                    raise Malformed(f"wire type {kind}")
            if pos > end:
                raise Malformed("a field runs past its message")
    except IndexError:
        raise Malformed("the bytes end inside a field") from None
    return items


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    byte = data[pos]
    if byte < 0x80:
        return byte, pos + 1
    value, shift = byte & 0x7F, 7
    while True:
        pos += 1
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + 1
        shift += 7
