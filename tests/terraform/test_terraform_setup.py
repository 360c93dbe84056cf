"""Terraform mode's set-up (issue 3): the engine, what fails fast at start, and what Terraform is
given (variables, lock timeout, automation mode, sensitive outputs)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import pytest
from support.terraform import (
    Recorder,
    copy_demo,
    read_state,
    serve_exit,
    simulate,
    tf_env,
    tfhook_terraform,
    updated,
    write_module,
)

from tfhook.core.hooks import Limits, TerraformAction
from tfhook.terraform import engine
from tfhook.terraform.refresh import Target


@pytest.fixture
def serve(tf_serve):  # type: ignore[no-untyped-def]
    """Terraform-mode servers (conftest's tf_serve) under the name these tests use."""
    return tf_serve


BROKEN = 'resource "terraform_data" "broken" {\n  input = \n}\n'


# -- engine ----------------------------------------------------------------------------


def test_terraform_command_uses_the_embedded_engine(tmp_path: Path) -> None:
    # A terraform 1.11 binary may be on PATH here; the embedded engine is 1.15.
    version = tfhook_terraform("version", cwd=tmp_path)
    assert version.stdout.startswith("Terraform v1.15."), version.stdout

    tf_dir = copy_demo(tmp_path / "demo")
    init = tfhook_terraform(f"-chdir={tf_dir}", "init", "-input=false", "-no-color",
                            cwd=tmp_path)
    assert "Terraform has been successfully initialized" in init.stdout


def test_unknown_engine_path_fails_fast(demo: Path, tmp_path: Path) -> None:
    result = serve_exit(demo, tmp_path, "--terraform", "/nonexistent")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tfhook: error: --terraform: '/nonexistent' is not an executable "
        "(use auto, embedded or a path)"
    ], result.stderr


def test_an_engine_that_is_not_terraform_fails_fast(demo: Path, tmp_path: Path) -> None:
    result = serve_exit(demo, tmp_path, "--terraform", "/bin/true")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tfhook: error: --terraform: /bin/true did not answer `version -json` like Terraform "
        "(is it terraform or tofu?)"
    ], result.stderr


def test_a_bad_engine_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    result = tfhook_terraform("version", cwd=tmp_path, check=False,
                              env=tf_env(TFHOOK_TERRAFORM="bogus"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tfhook: error: TFHOOK_TERRAFORM: 'bogus' is not an executable "
        "(use auto, embedded or a path)"
    ], result.stderr


# -- fail fast at start ----------------------------------------------------------------


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfhook: error: "), result.stderr
    return str(lines[0])


def test_missing_directory_fails_fast(tmp_path: Path) -> None:
    line = _one_line_error(serve_exit(tmp_path / "nowhere", tmp_path))
    assert f"{tmp_path / 'nowhere'} is not a directory" in line


def test_directory_without_tf_files_fails_fast(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "main.tf").write_text("")
    line = _one_line_error(serve_exit(empty, tmp_path))
    assert "has no .tf files" in line


LOCAL_MODULE = {
    "main.tf": 'module "m" {\n  source = "./mod"\n}\n\noutput "answer" {\n'
               '  value = module.m.answer\n}\n',
    "mod/main.tf": 'output "answer" {\n  value = 42\n}\n',
}


def test_uninitialised_directory_names_init(tmp_path: Path, serve) -> None:
    tf_dir = write_module(tmp_path / "mod-root", LOCAL_MODULE)

    line = _one_line_error(serve_exit(tf_dir, tmp_path))
    assert "not initialised (Module not installed)" in line
    assert f"tfhook terraform -chdir={tf_dir} init" in line

    server = serve(tf_dir, "--init")
    done = server.call("PostHandle", updated())[-1]
    assert done[0] == "DONE" and "answer: (new) → 42" in done[1]
    assert read_state(tf_dir)["outputs"]["answer"]["value"] == 42


def test_uninitialised_backend_names_init(demo: Path, tmp_path: Path, serve) -> None:
    # `terraform validate` does not look at the backend; the start-up check must.
    (demo / "backend.tf").write_text('terraform {\n  backend "local" {}\n}\n')

    line = _one_line_error(serve_exit(demo, tmp_path))
    assert "not initialised" in line and f"tfhook terraform -chdir={demo} init" in line

    server = serve(demo, "--init")
    simulate(demo, 400)
    done = server.call("PostHandle", updated())[-1]
    assert done[0] == "DONE" and "elb_plan: 100 → 400" in done[1], done


def test_initialised_by_tfhook_terraform_starts(tmp_path: Path, serve) -> None:
    tf_dir = write_module(tmp_path / "mod-root", LOCAL_MODULE)
    tfhook_terraform(f"-chdir={tf_dir}", "init", "-input=false", cwd=tmp_path)
    server = serve(tf_dir)
    assert server.call("PostHandle", updated())[-1][0] == "DONE"


def test_broken_configuration_at_start_fails_fast(demo: Path, tmp_path: Path) -> None:
    (demo / "broken.tf").write_text(BROKEN)
    line = _one_line_error(serve_exit(demo, tmp_path))
    assert "invalid configuration: Invalid expression at broken.tf:2" in line


def test_a_module_never_applied_starts_and_its_refresh_says_apply_it(tmp_path: Path,
                                                                     serve) -> None:
    # The start-up check plans without refreshing: the demo's import {} block is fine. A
    # refresh of its missing state is an error, not a success that refreshed nothing.
    tf_dir = copy_demo(tmp_path / "fresh")
    server = serve(tf_dir)

    details = server.call_error("PostHandle", updated()).details()

    assert "the state it read holds no managed resources, yet the configuration declares" \
        in details, details
    assert f"apply it once first: tfhook terraform -chdir={tf_dir} apply" in details, details
    assert not (tf_dir / "terraform.tfstate").exists()


def test_a_configuration_error_is_not_mistaken_for_missing_init(tmp_path: Path) -> None:
    # The detail names var.initial_plan: "init" inside a name must not read as "run init".
    tf_dir = write_module(tmp_path / "undeclared",
                          {"main.tf": 'output "plan" {\n  value = var.initial_plan\n}\n'})
    line = _one_line_error(serve_exit(tf_dir, tmp_path))
    assert "invalid configuration: Reference to undeclared input variable at main.tf:2" in line
    assert "init`" not in line


def test_broken_configuration_after_start_is_a_readable_error(demo: Path, serve) -> None:
    server = serve(demo)
    (demo / "broken.tf").write_text(BROKEN)

    error = server.call_error("PostHandle", updated())

    assert error.code() == grpc.StatusCode.UNKNOWN
    details = error.details()
    assert "terraform refresh failed" in details
    assert "Error: Invalid expression (broken.tf:2)" in details
    assert '"@level"' not in details and '{"' not in details, details


# -- what Terraform is given -----------------------------------------------------------

VARIABLES = {
    "main.tf": 'variable "greeting" {\n  type = string\n}\n\nvariable "who" {\n'
               '  type = string\n}\n\noutput "message" {\n'
               '  value = "${var.greeting}, ${var.who}"\n}\n',
}


def test_var_and_var_file_reach_terraform(tmp_path: Path, serve) -> None:
    tf_dir = write_module(tmp_path / "vars", VARIABLES)
    var_file = tmp_path / "who.tfvars"
    var_file.write_text('who = "world"\n')
    server = serve(tf_dir, "--var", "greeting=hello", "--var-file", str(var_file))

    done = server.call("PostHandle", updated())[-1]

    assert done[0] == "DONE" and 'message: (new) → "hello, world"' in done[1], done
    assert read_state(tf_dir)["outputs"]["message"]["value"] == "hello, world"


def test_a_required_variable_without_value_fails_fast(tmp_path: Path) -> None:
    # The counterpart of the test above: the values really come from --var/--var-file.
    tf_dir = write_module(tmp_path / "vars", VARIABLES)
    line = _one_line_error(serve_exit(tf_dir, tmp_path, "--var", "greeting=hello"))
    assert "--var/--var-file: No value for required variable at main.tf:5: " in line
    assert 'The root module input variable "who" is not set' in line


def test_an_undeclared_variable_fails_fast(tmp_path: Path) -> None:
    tf_dir = write_module(tmp_path / "vars", VARIABLES)
    line = _one_line_error(serve_exit(tf_dir, tmp_path, "--var", "greeting=hello",
                                      "--var", "who=world", "--var", "gretting=hi"))
    assert "--var/--var-file: Value for undeclared variable: " in line
    assert 'the root module declares no variable named "gretting"' in line


def test_lock_timeout_is_a_duration_terraform_accepts(demo: Path) -> None:
    argvs = {}
    for seconds in (7.0, 0.25, 1_080_000.0):
        action = TerraformAction(dir=demo, engine="embedded", lock_timeout=seconds)
        plan = Target(action, engine.embedded(), {}, Limits(60, 1)).plan_argv([], demo / "p.tfplan")
        argvs[seconds] = [*engine.embedded().argv, *plan]
    flags = {s: [a for a in argv if a.startswith("-lock-timeout=")] for s, argv in argvs.items()}
    assert flags == {7.0: ["-lock-timeout=7s"], 0.25: ["-lock-timeout=250ms"],
                     1_080_000.0: ["-lock-timeout=1080000s"]}
    # The real engine takes the longest one.
    result = subprocess.run(argvs[1_080_000.0], cwd=demo, env=tf_env(), capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_terraform_runs_in_automation_mode(tmp_path: Path, serve) -> None:
    # The wrapper only records argv and environment, then execs the embedded engine.
    recorder = Recorder.create(tmp_path)
    tf_dir = write_module(tmp_path / "vars", VARIABLES)
    var_file = tmp_path / "who.tfvars"
    var_file.write_text('who = "world"\n')
    server = serve(tf_dir, "--var", "greeting=hello there", "--var-file", str(var_file),
                   "--lock-timeout", "7s", engine=str(recorder.path))
    assert server.call("PostHandle", updated())[-1][0] == "DONE"
    assert read_state(tf_dir)["outputs"]["message"]["value"] == "hello there, world"

    # The refresh-only plan, its check, then the apply of exactly that plan file (no
    # revert check: no resource drifted).
    runs = recorder.invocations()
    commands = [argv[0] for argv, _ in runs if argv[0] in ("plan", "show", "apply")]
    assert commands[-3:] == ["plan", "show", "apply"], commands
    (argv, env), = [(a, e) for a, e in runs if a[0] == "plan" and "-refresh-only" in a]
    assert env["TF_IN_AUTOMATION"] == "1" and env["TF_INPUT"] == "0"
    assert {"-input=false", "-json", "-lock-timeout=7s", f"-var-file={var_file}"} <= set(argv)
    # --var values come in a private file after the user's (they win, as -var did).
    assert [a for a in argv if a.startswith("-var")][-1].endswith("/variables.tfvars.json")
    assert not any("hello there" in a for a in argv), argv
    out = next(a for a in argv if a.startswith("-out="))[len("-out="):]
    applied = [a for a, _ in runs if a[0] == "apply"]
    assert applied == [["apply", "-input=false", "-json", "-lock-timeout=7s", out]]


SENSITIVE = {
    "main.tf": 'variable "secret" {\n  type      = string\n  sensitive = true\n}\n\n'
               'output "token" {\n  value     = var.secret\n  sensitive = true\n}\n',
}


def test_sensitive_outputs_are_hidden_and_not_reported_unchanged(tmp_path: Path, serve) -> None:
    tf_dir = write_module(tmp_path / "sensitive", SENSITIVE)
    server = serve(tf_dir, "--var", "secret=s3cret-value")

    first = server.call("PostHandle", updated())
    second = server.call("PostHandle", updated())

    assert first[-1][0] == "DONE" and "token: (sensitive value changed)" in first[-1][1]
    assert second[-1][0] == "DONE" and "outputs changed: none" in second[-1][1], second
    assert not any("s3cret" in text for _, text in first + second)
    assert read_state(tf_dir)["outputs"]["token"]["value"] == "s3cret-value"
