"""The project's copy of the golden vectors: well-formed, and exactly the file that was copied
(its SHA-256 as taken from upstream; `make golden` compares it with upstream itself)."""

from __future__ import annotations

import base64
import hashlib

from support.servers import ROOT, VECTORS, load_vectors

# The SHA-256 of the upstream file the copy was taken from (tests/golden/README.md).
UPSTREAM_SHA256 = "60470ce0e6c154aadbd48ee326d65f1c55ee781f8bc53b5db2230c7b2ac16685"
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


def test_copy_is_unchanged_since_it_was_taken() -> None:
    assert hashlib.sha256(VECTORS.read_bytes()).hexdigest() == UPSTREAM_SHA256, (
        f"{VECTORS} was edited: copy it again from upstream (tests/golden/README.md)")
