"""The project's copy of the golden vectors: well-formed, and identical to the upstream file."""

from __future__ import annotations

import base64

import pytest
from helpers import ROOT, VECTORS, load_vectors

# Where the golden vectors come from, when a checkout of it sits beside the repository.
UPSTREAM = ROOT.parent / "shared" / "golden" / "vectors.jsonl"
FIELDS = {"name", "rpc", "desc", "json_bytes", "argv_ok", "proto_b64", "go_json"}


def test_copy_is_inside_the_project() -> None:
    assert VECTORS.is_relative_to(ROOT)
    vectors = load_vectors()
    assert len(vectors) == 34
    assert len({v["name"] for v in vectors}) == len(vectors)
    for vector in vectors:
        assert set(vector) == FIELDS, vector["name"]
        assert vector["rpc"] in ("PreHandle", "Handle", "PostHandle")
        assert vector["json_bytes"] == len(vector["go_json"].encode()), vector["name"]
        base64.b64decode(vector["proto_b64"], validate=True)


def test_copy_matches_upstream() -> None:
    if not UPSTREAM.is_file():
        pytest.skip(f"no upstream golden vectors at {UPSTREAM}: cannot compare the copy")
    assert VECTORS.read_bytes() == UPSTREAM.read_bytes(), (
        f"{VECTORS} differs from {UPSTREAM}: copy it again (tests/golden/README.md)")
