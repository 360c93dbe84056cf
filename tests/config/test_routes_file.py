"""The routes file: checking (every problem at once, named by file, route and field),
`tfhook routes check`, and Terraform start-up checks per route."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.routes import write_site
from support.servers import run_tfhook
from support.terraform import tf_env, write_module

from tfhook.config import routes_file as routes
from tfhook.core.hooks import CHANGED, ExecutableAction, Limits, TerraformAction
from tfhook.core.model import Phase
from tfhook.terraform.probes import probes


def load(path: Path):
    """The routes file checked as serve and `routes check` check it (Terraform probes too)."""
    return routes.load(path, probes=probes(dict(os.environ)))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path)


def test_a_good_file_becomes_hooks_with_paths_from_its_directory(site: Path) -> None:
    elb, web, notify = load(site / "tfhook.yaml")
    assert [h.name for h in (elb, web, notify)] == ["elb-state", "web-state", "notify"]
    assert elb.action == TerraformAction(dir=site / "infra" / "elb", target_from_event=True)
    assert elb.on_failure == "warn"
    # A Terraform route naming no phase and no result refreshes after a change.
    assert elb.match.phase == {Phase.POST_HANDLE} and elb.match.result == CHANGED
    assert elb.match.resource_type == {"elb"} and elb.match.resource_name == ("elb-*",)
    assert isinstance(web.action, TerraformAction)
    assert (web.action.lock_timeout, web.action.reconcile_every) == (120.0, 1800.0)
    assert web.action.variables == (("region", '"is1a"'),)
    assert web.action.var_files == (site / "web.tfvars",)
    assert notify.action == ExecutableAction(site / "hooks" / "notify.sh", payload_argv="none")
    assert notify.match.result == {1, 2, 4} and notify.match.source == ("graf*",)
    assert (notify.parallel, notify.limits) == (True, Limits(timeout=30.0, kill_after=2.0))


THREE_MISTAKES = """\
routes:
  - name: elb-state
    match: {resource_type: elbs}
    terraform: {dir: infra/elb}
  - name: web-state
    terraform: {dir: infra/web, lock_timeout: 2 minutes}
  - name: notify
    executable: {path: hooks/missing.sh}
    parallel: true
"""


def test_routes_check_reports_every_problem_at_once(site: Path) -> None:
    (site / "bad.yaml").write_text(THREE_MISTAKES)
    result = run_tfhook(["routes", "check", "bad.yaml"], cwd=site)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tfhook: error: bad.yaml: routes[0] (elb-state): match.resource_type: 'elbs' is not "
        "one of server, server_group_instance, elb, gslb, dns, router, load_balancer",
        "tfhook: error: bad.yaml: routes[1] (web-state): terraform.lock_timeout: invalid "
        "duration '2 minutes' (write it like 500ms, 30s, 15m or 1h)",
        f"tfhook: error: bad.yaml: routes[2] (notify): executable.path: "
        f"{site / 'hooks' / 'missing.sh'} does not exist",
    ]


def test_routes_check_accepts_a_good_file(site: Path) -> None:
    result = run_tfhook(["routes", "check", "tfhook.yaml"], cwd=site)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "tfhook.yaml: 3 routes OK: elb-state, web-state, notify\n"


@pytest.mark.parametrize(("text", "problem"), [
    ("", "tfhook.yaml: must be a mapping with a `routes:` list"),
    ("routes: []\n", "tfhook.yaml: routes: must be a list of at least one route"),
    ("routes: [\n", "tfhook.yaml:2:1: not valid YAML: expected the node content, but found "
     "'<stream end>' (while parsing a flow node)"),
    ("routes:\n  - name: a\n     executable: {path: hooks/notify.sh}\n",
     "tfhook.yaml:3:16: not valid YAML: mapping values are not allowed here"),
    ("routes:\n  - name: a\n    executable: {path: x}\n    terraform: {dir: y}\n",
     "tfhook.yaml: routes[0] (a): give exactly one of executable or terraform"),
    ("routes:\n  - executable: {path: hooks/notify.sh}\n",
     "tfhook.yaml: routes[0]: name: required: 1-64 letters"),
    ("routes:\n  - {name: a, executable: {path: hooks/notify.sh}, match: {phase: []}}\n",
     "tfhook.yaml: routes[0] (a): match.phase: an empty list matches nothing"),
    ("routes:\n  - {name: a, executable: {path: hooks/notify.sh, timeout: 1s}, timeout: 2s}\n",
     "tfhook.yaml: routes[0] (a): executable.timeout: also given as the route's timeout"),
    ("routes:\n  - {name: a, terraform: {dir: infra/elb}}\n"
     "  - {name: b, terraform: {dir: infra/elb, init: true}}\n",
     "tfhook.yaml: routes[1] (b): terraform.dir: "),
    ("routes:\n  - {name: a, terraform: {dir: nowhere}}\n",
     "tfhook.yaml: routes[0] (a): terraform.dir: "),
    ("routes:\n  - {name: a, executable: {path: hooks/notify.sh}}\n"
     "  - {name: a, executable: {path: hooks/notify.sh}}\n",
     "tfhook.yaml: routes[1] (a): name: 'a' is also routes[0]'s name"),
    ("hooks: []\nroutes:\n  - {name: a, executable: {path: hooks/notify.sh}}\n",
     "tfhook.yaml: hooks: unknown key (allowed: routes)"),
    ("routes:\n  - {name: a, match: {result: changed}, executable: {path: hooks/notify.sh}}\n",
     "tfhook.yaml: routes[0] (a): match.result: 'changed' is not one of created, updated"),
    ("routes:\n  - {name: a, match: {resource_name: '[abc'}, executable: {path: hooks/notify.sh}}"
     "\n", "tfhook.yaml: routes[0] (a): match.resource_name: '[abc' is not a shell glob with "
     "every [ closed by ] (for a literal [, write [[])"),
    ("routes:\n  - {name: a, match: {source: 'ok-[!]]-x['}, executable: {path: hooks/notify.sh}}"
     "\n", "tfhook.yaml: routes[0] (a): match.source: 'ok-[!]]-x[' is not a shell glob"),
    ("routes:\n  - {name: a, match: {colour: red}, executable: {path: hooks/notify.sh}}\n",
     "tfhook.yaml: routes[0] (a): match.colour: unknown key"),
    ("routes:\n  - {name: a, executable: {path: hooks/notify.sh, argv: none}}\n",
     "tfhook.yaml: routes[0] (a): executable.argv: unknown key (allowed: kill_after, "
     "on_failure, path, payload_argv, timeout)"),
    ("routes:\n  - {name: a, paralel: true, executable: {path: hooks/notify.sh}}\n",
     "tfhook.yaml: routes[0] (a): paralel: unknown key (did you mean `parallel`? allowed: "
     "executable, kill_after, match, name, notify, on_failure, parallel, terraform, timeout)"),
    ("route: []\nroutes:\n  - {name: a, executable: {path: hooks/notify.sh}}\n",
     "tfhook.yaml: route: unknown key (did you mean `routes`? allowed: routes)"),
    ("routes:\n  - {name: a, executable: {path: hooks/notify.sh, payload_argv: secret}}\n",
     "tfhook.yaml: routes[0] (a): executable.payload_argv: 'secret' is not one of full, "
     "redacted, none"),
    ("routes:\n  - {name: a, terraform: {dir: infra/elb, var: [novalue]}}\n",
     "tfhook.yaml: routes[0] (a): terraform.var: 'novalue' must be KEY=VALUE"),
    # A limit is named where it was written: in the action's section, or on the route.
    ("routes:\n  - {name: a, terraform: {dir: infra/elb, timeout: 0s}}\n",
     "tfhook.yaml: routes[0] (a): terraform.timeout: must be more than 0"),
    ("routes:\n  - {name: a, executable: {path: hooks/notify.sh, on_failure: never}}\n",
     "tfhook.yaml: routes[0] (a): executable.on_failure: 'never' is not one of fail, warn"),
    ("routes:\n  - {name: a, kill_after: soon, executable: {path: hooks/notify.sh}}\n",
     "tfhook.yaml: routes[0] (a): kill_after: invalid duration 'soon'"),
])
def test_each_mistake_is_named(site: Path, text: str, problem: str) -> None:
    (site / "tfhook.yaml").write_text(text)
    with pytest.raises(routes.RoutesError) as info:
        load(site / "tfhook.yaml")
    [found] = info.value.problems
    assert found.replace(str(site / "tfhook.yaml"), "tfhook.yaml").startswith(problem), found


def test_every_field_of_every_route_is_checked_whatever_else_is_wrong(site: Path) -> None:
    (site / "tfhook.yaml").write_text(
        "routes:\n"
        "  - {name: a, exectuable: {path: hooks/notify.sh}, match: {phase: nope},"
        " parallel: maybe, timeout: 2 minutes}\n"
        "  - {name: b, terraform: [infra/elb], match: {result: changed, colour: red}}\n")
    with pytest.raises(routes.RoutesError) as info:
        load(site / "tfhook.yaml")
    found = [p.replace(str(site / "tfhook.yaml"), "tfhook.yaml") for p in info.value.problems]
    expected = [
        "routes[0] (a): exectuable: unknown key",
        "routes[0] (a): match.phase: 'nope' is not one of",
        "routes[0] (a): parallel: must be true or false, not 'maybe'",
        "routes[0] (a): give exactly one of executable or terraform",
        "routes[0] (a): timeout: invalid duration '2 minutes'",
        "routes[1] (b): match.colour: unknown key",
        "routes[1] (b): match.result: 'changed' is not one of",
        "routes[1] (b): terraform: must be a mapping",
    ]
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(f"tfhook.yaml: {start}"), (line, start)


def nested(depth: int) -> str:
    """A route whose match holds lists `depth` deep."""
    return ("routes:\n  - {name: a, executable: {path: hooks/notify.sh}, match: {phase: "
            + "[" * depth + "]" * depth + "}}\n")


@pytest.mark.parametrize("command", [["routes", "check"], ["serve", "--addr", "unix:s.sock",
                                                            "--routes"]])
def test_yaml_nested_too_deeply_is_one_line(site: Path, command: list[str]) -> None:
    (site / "deep.yaml").write_text(nested(5000))
    result = run_tfhook([*command, "deep.yaml"], cwd=site)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("tfhook: error: deep.yaml: not valid YAML: nested too deeply "
                             "(lists or mappings inside each other)\n")
    assert not (site / "s.sock").exists()


def test_a_bare_off_is_the_word_not_a_boolean(site: Path) -> None:
    # YAML 1.1 reads `off` unquoted as false; the choice's word is meant (#25).
    (site / "tfhook.yaml").write_text(
        "routes:\n  - {name: a, terraform: {dir: infra/elb, warm_providers: off}}\n")
    [hook] = load(site / "tfhook.yaml")
    assert isinstance(hook.action, TerraformAction) and hook.action.warm_providers == "off"


def test_closed_bracket_globs_are_kept(site: Path) -> None:
    globs = ["elb-[0-9]*", "[[]literal", "[]]x", "[!]]y"]
    (site / "tfhook.yaml").write_text(
        f"routes:\n  - {{name: a, match: {{resource_name: {json.dumps(globs)}}}, "
        "executable: {path: hooks/notify.sh}}\n")
    [hook] = load(site / "tfhook.yaml")
    assert hook.match.resource_name == tuple(globs)


def test_serve_refuses_a_bad_file_with_every_problem_before_listening(site: Path) -> None:
    (site / "bad.yaml").write_text(THREE_MISTAKES)
    result = run_tfhook(["serve", "--routes", "bad.yaml", "--addr", "unix:s.sock"], cwd=site)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 3
    assert all(line.startswith("tfhook: error: bad.yaml: routes[") for line in
               result.stderr.splitlines())
    assert not (site / "s.sock").exists()


def test_terraform_start_up_checks_run_per_directory(site: Path) -> None:
    # infra/web needs a module that is not installed: its route and field are named.
    write_module(site / "infra" / "web", {"main.tf": 'module "m" {\n  source = "./mod"\n}\n',
                                          "mod/main.tf": ""})
    (site / "tfhook.yaml").write_text(
        "routes:\n  - {name: elb, terraform: {dir: infra/elb, terraform: embedded}}\n"
        "  - {name: web, terraform: {dir: infra/web, terraform: embedded}}\n")
    done = subprocess.run([sys.executable, "-m", "tfhook", "serve", "--routes", "tfhook.yaml",
                           "--addr", f"unix:{site}/s.sock"], cwd=site, env=tf_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    *_, line = done.stderr.splitlines()  # after infra/elb's "terraform engine" log line
    assert line.startswith(f"tfhook: error: tfhook.yaml: routes[1] (web): terraform.dir: "
                           f"{site / 'infra' / 'web'} is not initialised"), line
    assert line.endswith(f"run `tfhook terraform -chdir={site / 'infra' / 'web'} init` (or set "
                         "terraform.init: true)")
    # `routes check` runs the same checks, without serving.
    checked = run_tfhook(["routes", "check", "tfhook.yaml"], cwd=site, timeout=60)
    assert (checked.returncode, checked.stdout) == (2, "")
    assert checked.stderr.splitlines() == [line]




def test_a_misspelled_converge_key_is_one_problem_with_a_suggestion(site: Path) -> None:
    (site / "tfhook.yaml").write_text(
        "routes:\n  - {name: a, terraform: {dir: infra/elb, converge: {vars_fle: x}}}\n")
    with pytest.raises(routes.RoutesError) as info:
        load(site / "tfhook.yaml")
    assert [p.replace(str(site / "tfhook.yaml"), "tfhook.yaml") for p in info.value.problems] == [
        "tfhook.yaml: routes[0] (a): terraform.converge: vars_fle: unknown key (did you mean "
        "`vars_file`? allowed: commit, vars_file)"], info.value.problems
