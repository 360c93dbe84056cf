"""Redaction: no password, SSH key, cloud-config or startup script survives; nothing else changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfhook.observe import redact
from tfhook.observe.redact import MARKER, SECRET_KEYS
from tfhook.server.wire import go_json
from tfhook.v1 import handler_pb2 as pb

# The golden vectors (a copy of the reference's, kept in the project).
GOLDEN = Path(__file__).parents[1] / "golden" / "vectors.jsonl"
FAST = settings(max_examples=60, deadline=None, database=None)


def golden() -> list[dict[str, Any]]:
    with GOLDEN.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def without_secrets(value: Any) -> Any:
    """The request with secret keys removed: what redaction must leave exactly as it was."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


@pytest.mark.parametrize("vector", golden(), ids=lambda v: v["name"])
def test_golden_vectors_keep_everything_but_secrets(vector: dict[str, Any]) -> None:
    request = json.loads(vector["go_json"])
    before = copy.deepcopy(request)

    redacted = redact.redact(request)

    assert request == before  # the input is not changed
    assert without_secrets(redacted) == without_secrets(request)
    assert redact.redact(redacted) == redacted
    for secret in redact.secret_values(request):
        assert secret not in json.dumps(redacted, ensure_ascii=False)


def test_the_server_group_vector_loses_password_keys_scripts_and_cloud_config() -> None:
    vector = next(v for v in golden() if v["name"] == "resource_server_group_instance")
    redacted = redact.redact(json.loads(vector["go_json"]))

    sgi = redacted["desired"]["Resource"]["ServerGroupInstance"]
    assert sgi["edit_parameter"] == MARKER and sgi["cloud_config"] == MARKER
    text = json.dumps(redacted)
    for secret in ("p@ss", "ssh-ed25519", "hello", "nginx", "113400000800"):
        assert secret not in text  # key ids go too: all of edit_parameter
    assert sgi["disks"][0]["name"] == "disk-01"  # the rest stays


def test_protobuf_json_names_are_redacted_too() -> None:
    request = {"desired": {"serverGroupInstance": {"editParameter": {"password": "pw-secret"},
                                                   "cloudConfig": "#cloud-config", "name": "n"}}}
    assert redact.redact(request) == {"desired": {"serverGroupInstance": {
        "editParameter": MARKER, "cloudConfig": MARKER, "name": "n"}}}


def test_json_that_is_not_json_is_replaced_whole() -> None:
    assert redact.redact_json(b'{"password": "x"') == MARKER
    assert json.loads(redact.redact_json(b'{"password":"x","a":1}')) == {"password": MARKER, "a": 1}


SECRET = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                 min_size=1, max_size=20).map(lambda text: f"S3CRET{text}")


@FAST
@given(password=SECRET, keys=st.lists(SECRET, max_size=3), scripts=st.lists(SECRET, max_size=3),
       cloud=SECRET, name=st.text(max_size=10))
def test_any_secret_is_gone_from_the_request_and_from_text_that_echoes_it(
        password: str, keys: list[str], scripts: list[str], cloud: str, name: str) -> None:
    edit = pb.ServerGroupInstance.EditParameter(password=password, ssh_keys=keys,
                                                startup_scripts=scripts)
    sgi = pb.ServerGroupInstance(name=name, edit_parameter=edit, cloud_config=cloud)
    message = pb.HandleRequest(resource_name=name, desired=pb.Resource(server_group_instance=sgi))
    raw = go_json(message).decode()
    request = json.loads(raw)

    redacted = json.dumps(redact.redact(request), ensure_ascii=False)
    # A hook that prints what it got: the Go JSON, and the same data as Python writes it.
    echoed = redact.scrub(raw + "\n" + json.dumps(request) + "\n" + password,
                          redact.secret_values(request))
    assert redact.request_secrets(raw.encode()) == redact.secret_values(request)
    for secret in (password, cloud, *keys, *scripts):
        assert secret not in redacted
        assert secret not in echoed
    assert json.loads(redacted)["desired"]["Resource"]["ServerGroupInstance"].get("name",
                                                                                 "") == name


def test_request_secrets_decodes_only_json_that_names_a_secret_key() -> None:
    assert redact.request_secrets(b'{"a":"password"}') == []  # a value, not a key
    assert redact.request_secrets(b'{"cloud_config":"#cloud-config x"}') == [
        "#cloud-config x"]
    assert redact.request_secrets(b'{"password":') == []  # not JSON: nothing to find
    assert redact.request_secrets(b"") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("ret-4821 then more", f"{MARKER} then more"),  # began in the password
    ('4821\\"x', f"{MARKER}x"),  # in its JSON-escaped form (`Secret-4821\"`)
    ("1 then", f"{MARKER} then"),  # one character of it is still part of it
    ("no secret here", "no secret here"),
    ("My-Secret-4821 whole", f"{MARKER} whole"),
])
def test_a_text_cut_at_its_start_loses_the_end_of_a_secret(text: str, expected: str) -> None:
    secrets = ["My-Secret-4821", 'My-Secret-4821"']
    assert redact.scrub(text, secrets, cut=True) == expected
    if expected != text and not text.startswith("My-"):
        assert redact.scrub(text, secrets) == text  # uncut: the start is the text's own
