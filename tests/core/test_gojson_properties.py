"""Property tests for the Go JSON converter against small independent oracles."""

from __future__ import annotations

import json

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis (a dev dependency) is missing")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from support.requests import CHARS, TEXT, messages  # noqa: E402

from tfhook.server.wire import go_json  # noqa: E402
from tfhook.v1 import handler_pb2 as pb  # noqa: E402

# Go field names of the oneof members, written from the contract (not computed).
GO_VARIANT = {"server": "Server", "server_group_instance": "ServerGroupInstance", "elb": "Elb",
              "gslb": "Gslb", "dns": "Dns", "router": "Router", "load_balancer": "LoadBalancer"}
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
          "\t": "\\t"}
# No example database: tests must not write outside tmp_path.
FAST = settings(max_examples=60, deadline=None, database=None)


def go_quote(text: str) -> str:
    """Go's encoding/json string quoting (HTML escaping on), one character at a time."""
    out = ['"']
    for char in text:
        if char in _SHORT:
            out.append(_SHORT[char])
        elif ord(char) < 0x20 or char in "<>&\u2028\u2029":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


@FAST
@given(TEXT.filter(bool))
def test_any_string_is_quoted_like_go(text: str) -> None:
    assert go_json(pb.DNS(id=text)) == ('{"id":' + go_quote(text) + "}").encode("utf-8")


@FAST
@given(st.lists(st.lists(CHARS, max_size=4).map("".join), min_size=1, max_size=5))
def test_repeated_strings_keep_every_element(items: list[str]) -> None:
    expected = '{"dns_servers":[' + ",".join(go_quote(item) for item in items) + "]}"
    assert go_json(pb.DNS(dns_servers=items)) == expected.encode("utf-8")


def oracle(message):
    """What Go writes, as ordered pairs: presence from protobuf's own ListFields()."""
    present = {field.name: value for field, value in message.ListFields()}
    pairs, seen = [], set()
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.name not in seen:
                seen.add(oneof.name)
                member = message.WhichOneof(oneof.name)
                pairs.append(("Resource", None if member is None else
                              [(GO_VARIANT[member], oracle(getattr(message, member)))]))
        elif field.name in present:
            value = present[field.name]
            if field.message_type is not None:
                value = [oracle(v) for v in value] if field.is_repeated else oracle(value)
            elif field.is_repeated:
                value = list(value)
            pairs.append((field.name, value))
    return pairs


@settings(max_examples=80, deadline=None, database=None)
@given(st.one_of(messages(pb.HandleRequest.DESCRIPTOR), messages(pb.PostHandleRequest.DESCRIPTOR)))
def test_random_requests_match_the_oracle(request) -> None:
    out = go_json(request)
    parsed = json.loads(out, object_pairs_hook=lambda pairs: pairs)
    assert parsed == oracle(request)
    # Decoding the wire bytes again gives the same JSON: nothing depends on how it was built.
    again = type(request).FromString(request.SerializeToString())
    assert go_json(again) == out
