"""`tfhook serve --routes`: two real Terraform directories (embedded engine) and two real
scripts behind one server, driven by requests of every resource type."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from support.servers import alive, launch, tfhook_command, wait_for, write_script
from support.terraform import Recorder, TfServer, tf_env

TYPES = ("server", "server_group_instance", "elb", "gslb", "dns", "router", "load_balancer")
GO_NAMES = {"server": "Server", "server_group_instance": "ServerGroupInstance", "elb": "Elb",
            "gslb": "Gslb", "dns": "Dns", "router": "Router", "load_balancer": "LoadBalancer"}
# Both scripts mark their start and end. For a DNS event, each waits until the other has
# started: they can only finish if they run at the same time (`notify` is parallel), and
# the marks' order shows it.
SCRIPT = """\
d="$(dirname "$0")"
req="$(cat)"
kind="$(printf '%s' "$req" | sed -n 's/.*"current":{"Resource":{"\\([A-Za-z]*\\)".*/\\1/p')"
echo "{me} $kind start" >> "$d/marks"
touch "$d/{me}-started"
if [ "$kind" = Dns ]; then
  while [ ! -f "$d/{other}-started" ]; do sleep 0.05; done
fi
if [ "$kind" = Router ] && [ {me} = records ]; then
  echo "routers are not recorded" >&2; exit 3
fi
echo "{me} $kind end" >> "$d/marks"
echo "{me} saw $kind"
"""
ROUTES = """\
routes:
  - name: elb-state
    match: {{resource_type: elb, resource_name: "elb-*"}}
    terraform: {{dir: infra/elb, terraform: {elb_engine}}}
  - name: web-state
    match: {{resource_type: [server, server_group_instance]}}
    terraform: {{dir: infra/web, terraform: {web_engine}, lock_timeout: 2m}}
  - name: web-audit
    match: {{resource_type: server}}
    terraform: {{dir: infra/web, terraform: {web_engine}, lock_timeout: 2m}}
    parallel: true
  - name: records
    match: {{resource_type: [dns, gslb, router, load_balancer]}}
    executable: {{path: hooks/records.sh}}
    timeout: 20s
  - name: notify
    match: {{phase: post-handle}}
    executable: {{path: hooks/notify.sh, timeout: 20s}}
    parallel: true
"""


def updated(kind: str, name: str | None = None) -> dict[str, Any]:
    return {"source": "test", "resource_name": name or f"{kind.replace('_', '-')}-1",
            "scaling_job_id": "job-1", "result": "UPDATED", "current": {kind: {"id": "1"}}}


def start(routes: Path, workdir: Path) -> TfServer:
    sock = workdir / f"s-{uuid.uuid4().hex[:6]}.sock"
    return launch(TfServer, tfhook_command("serve", "--routes", str(routes), "--addr",
                                           f"unix:{sock}"),
                  cwd=workdir, target=f"unix:{sock}", env=tf_env(), timeout=60, sock=sock)


class Site:
    """A deployment: infra/elb and infra/web (applied demo modules), two hooks, a routes file."""

    def __init__(self, root: Path, template: Path) -> None:
        self.root = root
        for name in ("elb", "web"):
            shutil.copytree(template, root / "infra" / name, symlinks=True)
            (root / name).mkdir()
        self.engines = {name: Recorder.create(root / name) for name in ("elb", "web")}
        hooks = root / "hooks"
        hooks.mkdir()
        write_script(hooks / "records.sh", SCRIPT.replace("{me}", "records")
                     .replace("{other}", "notify"))
        write_script(hooks / "notify.sh", SCRIPT.replace("{me}", "notify")
                     .replace("{other}", "records"))
        self.routes = root / "tfhook.yaml"
        self.routes.write_text(ROUTES.format(elb_engine=self.engines["elb"].path,
                                             web_engine=self.engines["web"].path))

    def marks(self) -> list[str]:
        path = self.root / "hooks" / "marks"
        marks = path.read_text().splitlines() if path.exists() else []
        path.unlink(missing_ok=True)
        return marks

    def refreshes(self) -> dict[str, int]:
        return {name: len(engine.refreshes()) for name, engine in self.engines.items()}


@pytest.fixture
def site(demo_template: Path, tmp_path: Path) -> Iterator[tuple[Site, TfServer]]:
    deployment = Site(tmp_path / "site", demo_template)
    server = start(deployment.routes, tmp_path)
    yield deployment, server
    server.close()


def labels(answers: list[tuple[str, str]]) -> list[str]:
    return sorted({text.split("]")[0] + "]" for _, text in answers if text.startswith("[")})


def test_each_resource_type_runs_its_routes_and_no_other(site) -> None:
    deployment, server = site
    ran: dict[str, list[str]] = {}
    for kind in ("server", "server_group_instance", "elb", "gslb", "load_balancer"):
        answers = server.call("PostHandle", updated(kind))
        assert answers[-1][0] == "DONE", (kind, answers)
        ran[kind] = labels(answers)
        assert answers[-1][1].splitlines()[0] == f"{len(ran[kind])} routes done", answers
        assert sorted(deployment.marks()) == sorted(
            [f"notify {GO_NAMES[kind]} start", f"notify {GO_NAMES[kind]} end"]
            + ([f"records {GO_NAMES[kind]} start", f"records {GO_NAMES[kind]} end"]
               if kind in ("gslb", "load_balancer") else []))
    assert ran == {
        "server": ["[notify]", "[web-audit]", "[web-state]"],
        "server_group_instance": ["[notify]", "[web-state]"],
        "elb": ["[elb-state]", "[notify]"],
        "gslb": ["[notify]", "[records]"],
        "load_balancer": ["[notify]", "[records]"],
    }
    # web-state and web-audit share one run for the server event: 2 runs in infra/web
    # (server, server_group_instance), 1 in infra/elb.
    assert deployment.refreshes() == {"elb": 1, "web": 2}


def test_the_combined_done_lists_each_route(site) -> None:
    deployment, server = site
    answers = server.call("PostHandle", updated("elb"))
    done = answers[-1][1].splitlines()
    assert done[0] == "2 routes done"
    assert done[1].startswith("[elb-state] done: terraform refresh done in ")
    assert done[1].endswith(f"{deployment.root / 'infra' / 'elb'})")
    assert done[2] == "[notify] done: notify saw Elb"
    progress = [text for status, text in answers[:-1]]
    assert all(status == "RUNNING" for status, _ in answers[:-1])
    assert "[notify] notify saw Elb\n" in progress
    assert any(text.startswith("[elb-state] terraform plan -refresh-only in ")
               for text in progress)


def test_one_matching_route_answers_exactly_as_that_hook_alone(site) -> None:
    deployment, server = site
    # An ELB whose name is not elb-*: only notify runs, and its answer is the hook's own.
    assert server.call("PostHandle", updated("elb", name="lb-main")) == [
        ("DONE", "notify saw Elb\n")]
    assert deployment.refreshes() == {"elb": 0, "web": 0}


def test_no_route_is_one_ignored(site) -> None:
    deployment, server = site
    answers = server.call("Handle", {"instruction": "UPDATE", "desired": {"elb": {"id": "1"}}})
    assert answers == [("IGNORED", "Handle: no route matches (elb-state: phase handle is not "
                        "post-handle; web-state: phase handle is not post-handle; web-audit: "
                        "phase handle is not post-handle; records: resource_type elb is not "
                        "one of dns, gslb, load_balancer, router; notify: phase handle is not "
                        "post-handle)")]
    assert deployment.marks() == []


def test_parallel_routes_overlap(site) -> None:
    deployment, server = site
    answers = server.call("PostHandle", updated("dns"))
    assert answers[-1][0] == "DONE", answers
    marks = deployment.marks()
    # Each waited for the other to start: both starts come before both ends.
    assert sorted(marks[:2]) == ["notify Dns start", "records Dns start"], marks
    assert sorted(marks[2:]) == ["notify Dns end", "records Dns end"], marks


def test_a_failing_route_is_named_in_the_error(site) -> None:
    deployment, server = site
    error = server.call_error("PostHandle", updated("router"))
    assert error.code() == grpc.StatusCode.UNKNOWN
    hook = deployment.root / "hooks" / "records.sh"
    assert error.details().splitlines() == [
        "1 of 2 routes failed: records",
        f'[records] command "{hook}" returned non zero status: exit status 3',
        "[records] stderr:", "[records] routers are not recorded"]
    assert "notify Router end" in deployment.marks()  # the other route still ran


def test_a_call_that_goes_away_stops_every_route(tmp_path: Path) -> None:
    # Two routes, one parallel: each hook forks a sleeper and writes both PIDs, then waits.
    for name in ("one", "two"):
        write_script(tmp_path / f"{name}.sh",
                     f'sleep 60 & echo $! >> "{tmp_path}/pids"; echo $$ >> "{tmp_path}/pids"; '
                     "wait\n")
    routes = tmp_path / "tfhook.yaml"
    routes.write_text("routes:\n  - {name: one, executable: {path: one.sh}, parallel: true}\n"
                      "  - {name: two, executable: {path: two.sh}}\n")
    server = start(routes, tmp_path)
    try:
        call = server.stream("PostHandle", updated("elb"))
        pids = wait_for(lambda: len(_pids(tmp_path)) == 4 and _pids(tmp_path),
                        what="both hooks and their sleepers")
        call.cancel()
        for pid in pids:
            wait_for(lambda pid=pid: not alive(pid), what=f"pid {pid} to stop")
        assert server.proc.poll() is None
        # The call's end is logged once its hooks' groups are reaped: wait for the line.
        wait_for(lambda: 'event="call failed"' in server.log() and "routes=one,two" in server.log(),
                 what="the cancelled call logged as failed")
    finally:
        server.close()


def _pids(where: Path) -> list[int]:
    path = where / "pids"
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_on_failure_warn_answers_done_for_a_failing_script(tmp_path: Path) -> None:
    write_script(tmp_path / "bad.sh", "echo 'disk full' >&2; exit 4\n")
    routes = tmp_path / "tfhook.yaml"
    routes.write_text("routes:\n  - {name: bad, executable: {path: bad.sh}, on_failure: warn}\n"
                      "  - {name: strict, executable: {path: bad.sh}, match: {phase: handle}}\n")
    server = start(routes, tmp_path)
    try:
        [(status, text)] = server.call("PostHandle", updated("elb"))
        assert status == "DONE"
        assert text.startswith(f'FAILED (on_failure warn; the scaling job is not failed): '
                               f'command "{tmp_path / "bad.sh"}" returned non zero status: '
                               "exit status 4"), text
        assert "disk full" in text
        # Without it (fail, the default), the same script fails the call.
        error = server.call_error("Handle", {"desired": {"elb": {"id": "1"}}})
        assert "[strict] " in error.details() and "[bad] " not in error.details()
    finally:
        server.close()
