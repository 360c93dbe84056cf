"""The option table: serve's flags and a route's keys come from it, and one checker names a
problem by where the value came from (a flag, or a routes file's field)."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import pytest
from support.servers import write_script

from tfhook.cli.app import serve
from tfhook.config import flags, options
from tfhook.config import routes_file as routes
from tfhook.config.settings import Limits
from tfhook.core.hooks import CHANGED, TerraformAction
from tfhook.core.model import Phase
from tfhook.errors import RoutesError, UserError
from tfhook.observe import logs
from tfhook.terraform.probes import probes


def flag_values(**given: Any) -> dict[str, Any]:
    """Every serve flag at its default (as typer hands them over), with `given` set."""
    return {**{option.key: option.default for option in options.FLAGS}, **given}


def from_flags(**given: Any):
    return flags.hooks(flag_values(**given), Limits(), probes(dict(os.environ)))


def from_file(path: Path, text: str):
    path.write_text(text)
    return routes.load(path, probes=probes(dict(os.environ)))


def test_serve_declares_exactly_the_table_s_flags_in_its_order() -> None:
    ctx, *flags = inspect.signature(serve).parameters.values()  # ctx: which flags were named
    assert ctx.name == "ctx"
    assert [p.name for p in flags] == [option.key for option in options.FLAGS]
    assert [p.default for p in flags] == [o.default for o in options.FLAGS]


def test_keys_and_flags_are_unique_and_each_key_says_where_it_may_appear() -> None:
    keys = [option.key for option in options.OPTIONS]
    clis = [option.cli for option in options.FLAGS]
    assert len(set(keys)) == len(keys) and len(set(clis)) == len(clis)
    scope = {option.key: option.scope for option in options.OPTIONS}
    assert (scope["lock_timeout"], scope["parallel"], scope["grace"]) == (
        "flag and route", "route only", "server only")
    assert options.BY_KEY["check_revert"].cli == "--no-check-revert"
    assert options.BY_KEY["tf_dir"].route == "terraform.dir"


def test_log_choices_are_the_logs_module_s() -> None:
    # The table cannot import observe (a sibling layer): this keeps the two lists one.
    for key, allowed in (("log_format", logs.FORMATS), ("log_level", list(logs.LEVELS))):
        rule = options.BY_KEY[key].rule
        for value in allowed:
            rule(value, None)
        with pytest.raises(UserError, match=", ".join(allowed)):
            rule("loud", None)


@pytest.mark.parametrize(("flag_args", "field", "value", "problem"), [
    ({"lock_timeout": "soon"}, "--lock-timeout", "lock_timeout: soon",
     "invalid duration 'soon' (write it like 500ms, 30s, 15m or 1h)"),
    ({"max_state_removals": -1}, "--max-state-removals", "max_state_removals: -1",
     "must be a whole number, 0 or more (got -1)"),
    ({"var": ["nokv"]}, "--var", "var: [nokv]", "'nokv' must be KEY=VALUE"),
    ({"on_result": ["maybe"]}, "--on-result", None,
     "'maybe' is not one of created, updated, deleted, no-change, unknown (or 0-4)"),
    ({"on_failure": "never"}, "--on-failure", "on_failure: never",
     "'never' is not one of fail, warn"),
])
def test_one_checker_names_the_flag_or_the_route_field(tmp_path: Path, flag_args, field, value,
                                                      problem) -> None:
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "main.tf").write_text('output "x" { value = 1 }\n')
    with pytest.raises(RoutesError) as by_flag:
        from_flags(tf_dir=infra, **flag_args)
    assert by_flag.value.problems == [f"{field}: {problem}"]
    if value is None:
        return
    with pytest.raises(RoutesError) as by_file:
        from_file(tmp_path / "r.yaml", "routes:\n  - name: elb\n    terraform: {dir: infra, "
                  f"{value}}}\n")
    key = field.removeprefix("--").replace("-", "_")  # written in the terraform section
    assert by_file.value.problems == [f"{tmp_path / 'r.yaml'}: routes[0] (elb): terraform.{key}: "
                                      f"{problem}"]


def test_the_directory_check_is_lent_by_the_terraform_layer(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RoutesError) as by_flag:
        from_flags(tf_dir=tmp_path / "empty")
    assert by_flag.value.problems == [f"--tf-dir: {tmp_path / 'empty'} has no .tf files"]
    # Without the probes the config checks what it can alone, and says nothing of Terraform.
    (tmp_path / "r.yaml").write_text("routes:\n  - {name: a, terraform: {dir: empty}}\n")
    [hook] = routes.load(tmp_path / "r.yaml")
    assert isinstance(hook.action, TerraformAction) and hook.action.dir == tmp_path / "empty"


def test_flags_make_the_hook_a_file_would(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "main.tf").write_text('output "x" { value = 1 }\n')
    [by_flag], announce = from_flags(tf_dir=Path("infra"), lock_timeout="5s",
                                     check_revert=True, on_result=["no-change"])
    [by_file] = from_file(tmp_path / "r.yaml", "routes:\n  - name: terraform\n    match: "
                          "{phase: post-handle, result: no_change}\n    terraform: {dir: infra, "
                          "lock_timeout: 5s, check_revert: false}\n")
    assert announce and by_flag == by_file
    assert by_flag.label("lock_timeout") == "--lock-timeout"
    assert by_file.label("lock_timeout").endswith("routes[0] (terraform): terraform.lock_timeout")
    assert by_flag.label("var") == "--var/--var-file"
    assert by_flag.label("init_hint") == "start with --init"
    [default], _ = from_flags(tf_dir=infra)
    assert default.match.result == CHANGED and default.match.phase == {Phase.POST_HANDLE}


def test_generic_flags_make_an_executable_route(tmp_path: Path) -> None:
    hook_path = write_script(tmp_path / "hook.sh", "exit 0\n")
    [hook], announce = from_flags(executable_path=str(hook_path), handler_type="handle",
                                  payload_argv="none")
    assert not announce and hook.match.phase == {Phase.HANDLE}
    assert hook.action.payload_argv == "none"
    with pytest.raises(UserError, match=r"^--init, --lock-timeout: only for Terraform mode"):
        from_flags(executable_path=str(hook_path), init=True, lock_timeout="5s")


def test_the_reference_page_is_the_table_s() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "options.md"
    assert page.read_text(encoding="utf-8") == options.reference(), "run make options-doc"
    assert "| `lock_timeout` | `--lock-timeout` | `terraform.lock_timeout` | flag and route |" \
        in page.read_text(encoding="utf-8")


def test_every_server_wide_problem_is_reported_before_the_hook_s(tmp_path: Path) -> None:
    values = flag_values(executable_path=str(tmp_path / "missing.sh"), addr="nonsense:x:y",
                         log_format="xml", timeout="-1s", socket_mode="999",
                         history_keep="forever", max_concurrency="0")
    with pytest.raises(RoutesError) as caught:
        flags.settings(values, probes(dict(os.environ)))
    assert caught.value.problems == [
        "--addr 'nonsense:x:y': use unix:PATH, unix:///ABS/PATH, unix-abstract:NAME or HOST:PORT",
        "--log-format: 'xml' is not one of logfmt, json",
        "--timeout: invalid duration '-1s' (write it like 500ms, 30s, 15m or 1h)",
        "--socket-mode: '999' is not an octal mode like 0600",
        "--history-keep: invalid duration 'forever' (write it like 500ms, 30s, 15m or 1h)",
        "--max-concurrency: must be a whole number of at least 1 (got '0')",
        f"--executable-path: {tmp_path / 'missing.sh'} does not exist",
    ]
    with pytest.raises(RoutesError) as abstract:  # a mode no abstract socket can have
        flags.settings(flag_values(tf_dir=tmp_path, addr="unix-abstract:x", socket_mode="0600",
                                   grace="x"), probes(dict(os.environ)))
    assert [line.split(":")[0] for line in abstract.value.problems] == [
        "--grace", "--socket-mode", "--tf-dir"]
