"""Settings helpers: durations, socket modes, the handler YAML, the executable path."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from support.servers import write_script

from tfhook.config import settings as config
from tfhook.errors import UserError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0.0), ("500ms", 0.5), ("1s", 1.0), ("1.5s", 1.5), ("15m", 900.0), ("1h", 3600.0),
     ("1m30s", 90.0), ("1h0m1s", 3601.0), (" 30s ", 30.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert config.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "-1s", "1s2", "1 s", "abc", "1s 2s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UserError, match="--timeout: invalid duration"):
        config.parse_duration(text, name="--timeout")


@pytest.mark.parametrize(("text", "mode"), [("0600", 0o600), ("660", 0o660), ("0777", 0o777),
                                            ("0", 0)])
def test_parse_socket_mode(text: str, mode: int) -> None:
    assert config.parse_socket_mode(text) == mode


@pytest.mark.parametrize("text", ["rw", "0800", "1777", "-1", ""])
def test_parse_socket_mode_rejects(text: str) -> None:
    with pytest.raises(UserError, match=r"octal mode|out of range"):
        config.parse_socket_mode(text)


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "enabled", "address"),
    [
        ("exporter_config: {enabled: true, address: ':8081'}", True, ":8081"),
        ("exporter_config:\n  enabled: true\n  address: 127.0.0.1:9100\n", True, "127.0.0.1:9100"),
        ("exporter_config: {enabled: false}", False, ":8081"),
        ("exporter_config: {}", False, ":8081"),
        ("exporter_config:", False, ":8081"),
        ("", False, ":8081"),
        ("# only a comment\n", False, ":8081"),
    ],
)
def test_load_handler_config(tmp_path: Path, text: str, enabled: bool, address: str) -> None:
    exporter = config.load_handler_config(_yaml(tmp_path, text))
    assert (exporter.enabled, exporter.address) == (enabled, address)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("exporter_config: [", r"config.yaml:1:19: not valid YAML: expected the node content, "
                               r"but found '<stream end>' \(while parsing a flow node\)"),
        ("handlers: []", "unknown key handlers"),
        ("exporter_config: {enabled: true, port: 1}", "unknown key port"),
        ("exporter_config: {enabled: 'yes'}", "enabled must be true or false"),
        ("exporter_config: {enabled: true, address: 8081}", "address must be like"),
        ("- a\n- b\n", "must be a mapping"),
        ("exporter_config: 3", "must be a mapping"),
    ],
)
def test_load_handler_config_rejects(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message) as info:
        config.load_handler_config(_yaml(tmp_path, text))
    assert "\n" not in str(info.value)


def test_load_handler_config_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        config.load_handler_config(tmp_path / "missing.yaml")
    with pytest.raises(UserError, match="cannot read"):
        config.load_handler_config(tmp_path)  # a directory
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"exporter_config: {address: '\xff'}")
    with pytest.raises(UserError, match="not valid YAML"):
        config.load_handler_config(bad)


def test_resolve_executable_is_relative_to_cwd_not_path(tmp_path: Path, monkeypatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_script(bin_dir / "onpath", "exit 0\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    work = tmp_path / "work"
    work.mkdir()
    hook = write_script(work / "hook", "exit 0\n")
    assert config.resolve_executable("hook", cwd=work) == hook
    assert config.resolve_executable("./hook", cwd=work) == hook
    assert config.resolve_executable(str(hook), cwd=tmp_path) == hook
    with pytest.raises(UserError, match="does not exist"):
        config.resolve_executable("onpath", cwd=work)


def test_resolve_executable_rejects(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("echo\n")
    with pytest.raises(UserError, match="is not executable"):
        config.resolve_executable("plain", cwd=tmp_path)
    with pytest.raises(UserError, match="is a directory"):
        config.resolve_executable(".", cwd=tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        config.resolve_executable("nope", cwd=tmp_path)


def test_settings_are_frozen() -> None:
    settings = config.Settings()
    with pytest.raises(AttributeError):
        settings.addr = "unix:x"  # type: ignore[misc]
    assert settings.addr == "unix:autoscaler-handlers-local-exec.sock"
    assert settings.socket_mode == 0o600
    assert settings.hooks == () and settings.routes_file is None


def test_zero_timeout_is_refused():
    with pytest.raises(UserError, match="--timeout: must be more than 0"):
        config.positive_duration("0", name="--timeout")
    assert config.positive_duration("500ms", name="--timeout") == 0.5


@pytest.mark.parametrize(("first_line", "problem"), [
    (b"#!/nonexistent/interp\n", "its #! interpreter /nonexistent/interp does not exist"),
    (b"#!/bin/sh\r\n", "carriage return (Windows line endings)"),
    (b"#!\n", "names no interpreter"),
])
def test_a_hook_with_a_broken_interpreter_line_is_refused(tmp_path: Path, first_line: bytes,
                                                          problem: str) -> None:
    hook = tmp_path / "hook"
    hook.write_bytes(first_line + b"echo hi\n")
    hook.chmod(0o755)
    with pytest.raises(UserError, match=f"{hook}: .*" + problem.replace("(", r"\(")
                       .replace(")", r"\)")):
        config.resolve_executable(str(hook))


@pytest.mark.parametrize("body", [b"#!/bin/sh\necho hi\n", b"#! /usr/bin/env sh\n", b"\x7fELF"])
def test_good_interpreter_lines_and_binaries_pass(tmp_path: Path, body: bytes) -> None:
    hook = tmp_path / "hook"
    hook.write_bytes(body)
    hook.chmod(0o755)
    assert config.resolve_executable(str(hook)) == hook


@pytest.mark.parametrize("address,message", [
    (":99999", "port out of range (99999; use 1 to 65535)"),
    (":0", "port out of range (0; use 1 to 65535)"),
    (":http", "a port from 1 to 65535"), ("8081", "a port from 1 to 65535")])
def test_exporter_ports_out_of_range_are_refused(tmp_path: Path, address: str, message: str
                                                 ) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"exporter_config: {{enabled: true, address: '{address}'}}\n")
    with pytest.raises(UserError, match=re.escape(message)):
        config.load_handler_config(path)


def test_default_state_dir_follows_xdg_then_home() -> None:
    assert config.state_dir({"XDG_STATE_HOME": "/x", "HOME": "/h"}) == Path("/x/tfhook")
    assert config.state_dir({"HOME": "/h"}) == Path("/h/.local/state/tfhook")
    assert config.state_dir({"XDG_STATE_HOME": "", "HOME": "/h"}) == Path("/h/.local/state/tfhook")


@pytest.mark.parametrize("text,seconds", [("30d", 30 * 86400.0), ("1.5d", 1.5 * 86400.0), ("2h", 7200.0),
                                          ("90m", 5400.0)])
def test_history_ages_take_days(text: str, seconds: float) -> None:
    assert config.parse_age(text, name="--history-keep") == seconds


def test_the_history_password_comes_from_its_own_variable(monkeypatch) -> None:
    from tfhook.config import values
    from tfhook.history import dsn

    monkeypatch.setenv("TFHOOK_HISTORY_PASSWORD", "p@ss&w0rd")
    url = values.database("postgresql://u@db.example/h?sslmode=disable", None)  # type: ignore[arg-type]
    assert dsn.password(url) == "p@ss&w0rd"
    assert dsn.mask(url) == "postgresql://u@db.example/h?sslmode=disable&password=****"
    # A password in the URL wins (it is there on purpose).
    assert dsn.password(values.database("postgresql://u:given@db.example/h", None)) == "given"  # type: ignore[arg-type]
