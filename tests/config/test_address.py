"""Listen addresses (tfhook/config/address.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfhook.config import address
from tfhook.errors import UserError


@pytest.mark.parametrize(
    ("addr", "target", "path"),
    [
        ("unix:rel.sock", "unix:{cwd}/rel.sock", "{cwd}/rel.sock"),
        ("unix:sub/rel.sock", "unix:{cwd}/sub/rel.sock", "{cwd}/sub/rel.sock"),
        ("unix:///abs/x.sock", "unix:/abs/x.sock", "/abs/x.sock"),
        ("unix:/abs/y.sock", "unix:/abs/y.sock", "/abs/y.sock"),
        ("unix-abstract:name", "unix-abstract:name", None),
        ("127.0.0.1:50051", "127.0.0.1:50051", None),
        ("[::1]:50051", "[::1]:50051", None),
        (":50051", "[::]:50051", None),
        ("localhost:0", "localhost:0", None),
    ],
)
def test_parse_address(tmp_path, monkeypatch, addr, target, path) -> None:
    monkeypatch.chdir(tmp_path)
    parsed = address.parse(addr)
    assert parsed.target == target.format(cwd=tmp_path)
    assert parsed.path == (None if path is None else Path(path.format(cwd=tmp_path)))


@pytest.mark.parametrize("addr", ["unix:", "unix-abstract:", "nonsense", "host:port",
                                  "1.2.3.4:99999"])
def test_parse_address_rejects(addr: str) -> None:
    with pytest.raises(UserError, match="--addr"):
        address.parse(addr)


def test_relative_unix_paths_are_marked(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert address.parse("unix:rel.sock").relative
    assert not address.parse("unix:/abs.sock").relative
    assert not address.parse("unix:///abs.sock").relative


def test_socket_paths_longer_than_sun_path_are_refused() -> None:
    longest = "/" + "a" * (address.SUN_PATH_MAX - 1)
    assert address.parse(f"unix:{longest}").path == Path(longest)
    with pytest.raises(UserError, match="longer than a socket path may be"):
        address.parse(f"unix:{longest}b")


@pytest.mark.parametrize(("addr", "dial"), [
    (":8080", "127.0.0.1:8080"), ("0.0.0.0:8080", "127.0.0.1:8080"),
    ("[::]:8080", "127.0.0.1:8080"), ("10.0.0.5:8080", "10.0.0.5:8080"),
    ("unix-abstract:x", "unix-abstract:x"),
])
def test_dial_target_turns_wildcards_into_loopback(addr: str, dial: str) -> None:
    assert address.parse(addr).dial_target() == dial


def test_control_characters_are_refused() -> None:
    with pytest.raises(UserError, match="control characters"):
        address.parse("unix:/tmp/a\nb.sock")


@pytest.mark.parametrize(("addr", "exposed"), [
    ("127.0.0.1:50051", False), ("localhost:50051", False), ("[::1]:50051", False),
    ("127.0.0.2:50051", False), (":50051", True), ("0.0.0.0:50051", True), ("[::]:50051", True),
    ("192.0.2.10:50051", True), ("handler.example:50051", True),
    ("unix:x.sock", False), ("unix-abstract:x", False),
])
def test_which_addresses_other_machines_reach(addr: str, exposed: bool) -> None:
    assert address.exposed(address.parse(addr)) is exposed
