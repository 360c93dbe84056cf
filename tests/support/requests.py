"""Hypothesis strategies for any request: any Unicode string, any message of a type."""

from __future__ import annotations

from google.protobuf import message_factory
from hypothesis import strategies as st

# Any Unicode scalar value (protobuf strings cannot hold surrogates), with the characters
# Go treats specially drawn often. Built by hand: st.characters() builds a slow charmap.
CHARS = st.one_of(
    st.sampled_from('"\\\b\f\n\r\t<>&\u2028\u2029/\x7f\ufeff\x00\x1f'),
    st.integers(0, 0x7F).map(chr),
    st.integers(0x80, 0xD7FF).map(chr),
    st.integers(0xE000, 0x10FFFF).map(chr),
)
TEXT = st.lists(CHARS, max_size=12).map("".join)


def _scalar(field):
    if field.type == field.TYPE_STRING:
        return TEXT
    if field.type == field.TYPE_BOOL:
        return st.booleans()
    if field.type == field.TYPE_ENUM:
        return st.integers(-(2**31), 2**31 - 1)
    return st.integers(0, 2**32 - 1)  # uint32


@st.composite
def messages(draw, descriptor, depth=0):
    """Any message of a type, built from its descriptor; oneofs and nesting included."""
    message = message_factory.GetMessageClass(descriptor)()
    for oneof in descriptor.oneofs:
        choices = [None, *oneof.fields] if depth < 3 else [None]
        member = draw(st.sampled_from(choices))
        if member is not None:
            getattr(message, member.name).CopyFrom(draw(messages(member.message_type, depth + 1)))
    for field in descriptor.fields:
        if field.containing_oneof is not None or not draw(st.booleans()):
            continue
        if field.message_type is not None:
            if depth >= 3:
                continue
            inner = messages(field.message_type, depth + 1)
            if field.is_repeated:
                for item in draw(st.lists(inner, max_size=2)):
                    getattr(message, field.name).add().CopyFrom(item)
            else:
                getattr(message, field.name).CopyFrom(draw(inner))
        elif field.is_repeated:
            getattr(message, field.name).extend(draw(st.lists(_scalar(field), max_size=3)))
        else:
            setattr(message, field.name, draw(_scalar(field)))
    return message
