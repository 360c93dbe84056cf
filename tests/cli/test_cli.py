"""`tfhook serve`: flags become Settings; bad input is one line, exit code 2, before binding.

Most cases run in-process with typer's CliRunner and `server.run` patched out (as uvicorn
tests its CLI); a few run the real `python -m tfhook serve` and check no socket appeared.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.servers import run_tfhook, write_script
from typer.testing import CliRunner

from tfhook.cli import app as cli
from tfhook.config import settings as config
from tfhook.config.settings import Exporter, Limits, Settings
from tfhook.core.hooks import ExecutableAction, Match
from tfhook.core.model import Phase
from tfhook.observe import logs
from tfhook.server import lifecycle as server


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch) -> Path:
    # The default --addr is a socket in the working directory, checked with the other flags:
    # its path must fit a socket's 107 bytes, so the test works in the short $TMPDIR.
    tmp_path = Path(os.environ["TMPDIR"])
    write_script(tmp_path / "hook", "exit 0\n")
    (tmp_path / "plain").write_text("#!/bin/sh\nexit 0\n")  # not executable
    (tmp_path / "dir").mkdir()
    (tmp_path / "bad.yaml").write_text("exporter_config: {enabled: true\n")
    (tmp_path / "unknown.yaml").write_text("exporter_config: {enabled: true}\nhandlers: []\n")
    (tmp_path / "badkey.yaml").write_text("exporter_config: {enabled: true, port: 1}\n")
    (tmp_path / "good.yaml").write_text('exporter_config: {enabled: true, address: ":9100"}\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Replace server.run (and the global logging set-up) with a recorder."""
    calls: list[Settings] = []
    monkeypatch.setattr(server, "run", calls.append)
    monkeypatch.setattr(logs, "configure", lambda *args: None)
    return calls


def invoke(*args: str):
    return CliRunner().invoke(cli.app, ["serve", *args])


CASES = {
    "missing executable": (["--executable-path", "nope"], "does not exist"),
    "non-executable": (["--executable-path", "plain"], "is not executable"),
    "directory executable": (["--executable-path", "dir"], "is a directory"),
    "unknown handler type": (["--executable-path", "hook", "--handler-type", "during"],
                             "--handler-type: 'during' is not one of"),
    "missing config": (["--executable-path", "hook", "--config", "missing.yaml"],
                       "--config: missing.yaml: cannot read: No such file or directory"),
    "config is a directory": (["--executable-path", "hook", "--config", "dir"],
                              "--config: dir: cannot read: a directory"),
    "invalid yaml": (["--executable-path", "hook", "--config", "bad.yaml"],
                     "--config: bad.yaml:2:1: not valid YAML: expected ',' or '}'"),
    "unknown top-level key": (["--executable-path", "hook", "--config", "unknown.yaml"],
                              "unknown key handlers"),
    "unknown exporter key": (["--executable-path", "hook", "--config", "badkey.yaml"],
                             "unknown key port"),
    "timeout without unit": (["--executable-path", "hook", "--timeout", "10"],
                             "--timeout: invalid duration '10'"),
    "timeout garbage": (["--executable-path", "hook", "--timeout", "soon"],
                        "--timeout: invalid duration"),
    "kill-after garbage": (["--executable-path", "hook", "--kill-after", "-1s"],
                           "--kill-after: invalid duration"),
    "grace garbage": (["--executable-path", "hook", "--grace", "1d"], "--grace: invalid duration"),
    "socket mode": (["--executable-path", "hook", "--socket-mode", "rw-"], "--socket-mode"),
    "log format": (["--executable-path", "hook", "--log-format", "xml"], "--log-format"),
    "log level": (["--executable-path", "hook", "--log-level", "loud"], "--log-level"),
    "no mode": ([], "give exactly one of --executable-path (generic), --tf-dir (Terraform) or "
                    "--routes FILE"),
    "routes and executable": (["--executable-path", "hook", "--routes", "r.yaml"],
                              "give exactly one of"),
    "terraform flags with routes": (["--routes", "r.yaml", "--var", "a=b", "--init"],
                                    "--var, --init: with --routes, set it in the routes file"),
    "both modes": (["--executable-path", "hook", "--tf-dir", "dir"], "give exactly one of"),
    "terraform flags in generic mode": (
        ["--executable-path", "hook", "--on-result", "updated", "--var", "a=b", "--init"],
        "--on-result, --var, --init: only for Terraform mode (--tf-dir)"),
    "lock timeout in generic mode": (["--executable-path", "hook", "--lock-timeout", "5s"],
                                     "--lock-timeout: only for Terraform mode"),
    "handler type in terraform mode": (["--tf-dir", "dir", "--handler-type", "handle"],
                                       "--handler-type: only for --executable-path"),
    # A flag of the other mode is refused even at its default value: it was meant for something.
    "lock timeout at its default in generic mode": (
        ["--executable-path", "hook", "--lock-timeout", "60s"],
        "--lock-timeout: only for Terraform mode"),
    "handler type at its default with routes": (
        ["--routes", "routes.yaml", "--handler-type", "post-handle"],
        "--handler-type: with --routes, set it in the routes file"),
    "payload argv value": (["--executable-path", "hook", "--payload-argv", "hidden"],
                           "--payload-argv: 'hidden' is not one of full, redacted, none"),
    "payload argv in terraform mode": (["--tf-dir", "dir", "--payload-argv", "none"],
                                       "--payload-argv: only for --executable-path"),
    "max concurrency zero": (["--executable-path", "hook", "--max-concurrency", "0"],
                             "--max-concurrency: must be a whole number of at least 1 (got '0')"),
    "connection idle garbage": (["--executable-path", "hook", "--max-connection-idle", "soon"],
                                "--max-connection-idle: invalid duration 'soon'"),
    "conversion memory garbage": (["--executable-path", "hook", "--max-conversion-memory", "lots"],
                                  "--max-conversion-memory: invalid size 'lots' (write it like "
                                  "64MiB or 1GiB)"),
    "conversion memory too small": (
        ["--executable-path", "hook", "--max-conversion-memory", "512KiB"],
        "--max-conversion-memory: must be at least 1MiB (got '512KiB')"),
    "max concurrency garbage": (["--executable-path", "hook", "--max-concurrency", "lots"],
                                "--max-concurrency: must be a whole number"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_never_serves(workdir, served, case: str) -> None:
    args, message = CASES[case]
    result = invoke(*args, "--addr", "unix:cli.sock")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tfhook: error: ")
    assert message in lines[0]
    assert served == []


def test_flags_become_settings(workdir, served) -> None:
    result = invoke("--executable-path", "hook", "--handler-type", "handle",
                    "--addr", "unix:x.sock", "--timeout", "1m30s", "--kill-after", "500ms",
                    "--grace", "2s", "--socket-mode", "0660", "--config", "good.yaml",
                    "--log-format", "json", "--log-level", "debug")
    assert result.exit_code == 0, result.output
    [settings] = served
    [hook] = settings.hooks
    assert hook.action == ExecutableAction(workdir / "hook")
    assert hook.match == Match(phase=frozenset({Phase.HANDLE}))
    assert hook.limits == Limits(timeout=90.0, kill_after=0.5)
    assert settings.announce_unmatched is False  # other phases: the reference's empty stream
    assert settings.addr == "unix:x.sock"
    assert settings.grace == 2.0
    assert settings.socket_mode == 0o660
    assert settings.exporter == Exporter(enabled=True, address=":9100")
    assert (settings.log_format, settings.log_level) == ("json", "debug")
    assert settings.routes_file is None


def test_defaults_match_the_reference(workdir, served) -> None:
    assert invoke("--executable-path", "hook").exit_code == 0
    [settings] = served
    assert settings.addr == "unix:autoscaler-handlers-local-exec.sock"
    [hook] = settings.hooks
    assert hook.match.phase == {Phase.POST_HANDLE}
    assert hook.limits == Limits(timeout=15 * 60.0, kill_after=10.0)
    assert settings.socket_mode == 0o600
    assert settings.exporter == Exporter(enabled=False)
    assert hook.action == ExecutableAction(workdir / "hook", payload_argv="redacted")
    assert settings.max_concurrency == config.CONCURRENCY_PER_CPU * len(os.sched_getaffinity(0))


def test_payload_argv_and_max_concurrency_reach_the_settings(workdir, served) -> None:
    result = invoke("--executable-path", "hook", "--payload-argv", "none",
                    "--max-concurrency", "3")
    assert result.exit_code == 0, result.output
    [settings] = served
    assert settings.hooks[0].action == ExecutableAction(workdir / "hook", payload_argv="none")
    assert settings.max_concurrency == 3


@pytest.mark.parametrize(("args", "message"), [
    (["--executable-path", "nope"], "does not exist"),
    (["--executable-path", "hook", "--config", "bad.yaml"], "not valid YAML"),
    (["--executable-path", "hook", "--timeout", "10"], "--timeout: invalid duration"),
    (["--executable-path", "hook", "--bogus"], "No such option: --bogus"),
])
def test_real_process_refuses_before_binding(workdir, args, message: str) -> None:
    before = sorted(workdir.iterdir())
    result = run_tfhook(["serve", *args, "--addr", "unix:cli.sock"], cwd=workdir)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("tfhook: error: ") and message in line
    assert sorted(workdir.iterdir()) == before  # no socket, nothing else either


def test_a_flag_missing_its_value_is_one_line(workdir) -> None:
    result = run_tfhook(["serve", "--executable-path", "hook", "--timeout"], cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tfhook: error: Option '--timeout' requires an argument. (see `tfhook --help`)"]


@pytest.mark.parametrize("flag,message", [
    ("--time", "No such option: --time (did you mean `--timeout`?)"),
    ("--lock-timout", "No such option: --lock-timout (did you mean `--lock-timeout`?)"),
    ("--zzzzzz", "No such option: --zzzzzz"),
])
def test_an_unknown_flag_suggests_the_closest_one(workdir, flag: str, message: str) -> None:
    result = run_tfhook(["serve", "--executable-path", "hook", flag], cwd=workdir)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        f"tfhook: error: {message} (see `tfhook serve --help`)"]


def test_bad_address_is_one_line(workdir) -> None:
    result = run_tfhook(["serve", "--executable-path", "hook", "--addr", "nonsense"], cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tfhook: error: --addr 'nonsense': use unix:PATH, unix:///ABS/PATH, unix-abstract:NAME "
        "or HOST:PORT"
    ]


@pytest.mark.parametrize("command", [["serve", "--executable-path", "hook"], ["send", "handle"],
                                     ["check"], ["init", "site", "--kind", "shell"]],
                         ids=["serve", "send", "check", "init"])
def test_a_port_out_of_range_says_so_wherever_an_address_is_read(workdir, command: list[str]
                                                                 ) -> None:
    result = run_tfhook([*command, "--addr", "127.0.0.1:99999"], cwd=workdir)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "tfhook: error: --addr '127.0.0.1:99999': port out of range (99999; use 0 to 65535)"]
    assert not (workdir / "site").exists()


def test_serve_help_lists_the_reference_flags() -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--help"])
    assert result.exit_code == 0
    for flag in ("--executable-path", "--handler-type", "--addr", "--config", "--timeout",
                 "--kill-after", "--socket-mode"):
        assert flag in result.stdout
