"""The documentation agrees with the code: generated pages, the site's links, and every
`tfhook` command the README and the site show."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from shell import ROOT, commands, documents
from support.servers import run_tfhook

from tfhook.docs.pages import differing

DEMO = ROOT / "examples" / "terraform" / "demo"
RUNS = "tests/cli/test_runs.py"
# Commands that need a live server and the tests that run them with one.
SERVED = {
    "tfhook serve --tf-dir": "tests/ops/test_send.py::test_terraform_mode_streams_runs_and_is_recorded",
    "tfhook serve --executable-path":
        "tests/ops/test_send.py::test_send_applies_the_flags_and_prints_the_answer",
    "tfhook serve --routes": "tests/server/test_routes_serve.py::test_the_combined_done_lists_each_route",
    "tfhook check": "tests/ops/test_send.py::test_check_answers_serving",
    "tfhook send": "tests/ops/test_send.py::test_send_applies_the_flags_and_prints_the_answer",
    "tfhook history": "tests/cli/test_operate.py::test_calls_through_the_server_are_recorded",
    "tfhook runs approve": f"{RUNS}::test_approve_applies_the_held_run_and_refuses_what_is_not_held",
    "tfhook runs held": f"{RUNS}::test_approve_applies_the_held_run_and_refuses_what_is_not_held",
    "tfhook runs deny": f"{RUNS}::test_deny_discards_the_held_run_and_a_rollback_goes_through_the_server",
    "tfhook runs diff": "tests/terraform/test_converge.py::test_a_constant_gets_a_diff_that_git_applies",
    "tfhook state rollback":
        "tests/terraform/test_terraform_rollback.py::test_a_rollback_restores_the_state_and_a_second_one_undoes_it",
}


def test_reference_pages_match_the_code() -> None:
    assert differing(ROOT / "docs") == [], "run `make reference`"


def test_the_site_builds_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed (make docs installs it)")
    built = subprocess.run([str(mkdocs), "build", "--strict", "--quiet", "-d", str(tmp_path / "site")],
                           cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1",
                                                                           "PATH": "/usr/bin:/bin"})
    assert built.returncode == 0, built.stderr


def _scratch(where: Path) -> Path:
    """A folder with a copy of the demo module as `infra`, as the docs' commands expect."""
    shutil.copytree(DEMO, where / "infra", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    shutil.copy(DEMO / "cloud" / "cloud.tfstate", where / "infra" / "cloud" / "cloud.tfstate")
    return where


def _synopsis_flags_exist(command: str) -> None:
    """A synopsis (`[--flag X]`) names only flags its command has, as the app declares them."""
    words = [w for w in command.split()[1:] if re.fullmatch(r"[a-z-]+", w)][:2]
    reference = (ROOT / "docs" / "reference" / "cli.md").read_text()
    for word in reversed(range(len(words) + 1)):
        heading = f"## `tfhook {' '.join(words[:word])}`\n"
        if heading in reference:
            break
    shown = reference.split(heading)[1].split("\n## ")[0]
    flags = set(re.findall(r"--[a-z-]+", command))
    assert {flag for flag in flags if flag not in shown} == set(), command


def test_every_tfhook_command_in_the_docs_runs(tmp_path: Path) -> None:
    ran, named = [], []
    for number, page in enumerate(documents()):
        scratch = _scratch(tmp_path / str(number))  # each page's commands from a fresh folder
        shown = commands(page)
        if not any(command.startswith("tfhook init .") for command in shown):
            # A page that shows a routes file without writing it: the one init writes.
            run_tfhook(["init", ".", "--kind", "terraform", "--tf-dir", "infra"], cwd=scratch)
        for command in shown:
            served = next((test for prefix, test in SERVED.items() if command.startswith(prefix)), None)
            if "[" in command or "|" in command:
                _synopsis_flags_exist(command)
            elif served:
                path, name = served.split("::")
                assert f"def {name}(" in (ROOT / path).read_text(), served
                named.append(command)
            else:
                result = run_tfhook(command.split()[1:], cwd=scratch)
                assert result.returncode == 0, (page, command, result.stderr)
                ran.append(command)
    assert "tfhook terraform -chdir=infra init" in ran and "tfhook routes check tfhook.yaml" in ran
