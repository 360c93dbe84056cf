"""SIGHUP: a valid routes file applies to new calls while calls in flight finish on the old
routes; an invalid one is logged with every problem and changes nothing."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

from support.servers import HANG_GUARD, launch, tfhook_command, wait_for, write_script
from support.terraform import TfServer, tf_env

# Answers with its name; a request for resource "slow" waits until the test releases it.
HOOK = """\
d="$(dirname "$0")"
case "$(cat)" in *'"resource_name":"slow"'*)
  touch "$d/{name}-started"
  while [ ! -f "$d/release" ]; do sleep 0.05; done;;
esac
echo {name}
"""


def start(workdir: Path, *args: str) -> TfServer:
    sock = workdir / f"s-{uuid.uuid4().hex[:6]}.sock"
    return launch(TfServer, tfhook_command("serve", *args, "--addr", f"unix:{sock}"),
                  cwd=workdir, target=f"unix:{sock}", env=tf_env(), timeout=HANG_GUARD, sock=sock)


def route(name: str, hook: str) -> str:
    return f"  - {{name: {name}, match: {{phase: post-handle}}, executable: {{path: {hook}}}}}\n"


def updated(name: str = "elb") -> dict[str, object]:
    return {"resource_name": name, "result": "UPDATED"}


def log_lines(server: TfServer, event: str) -> list[str]:
    return [line for line in server.log().splitlines() if f'event="{event}"' in line]


def test_sighup_applies_a_good_file_to_new_calls_and_keeps_the_old_on_a_bad_one(
        tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_script(tmp_path / f"{name}.sh", HOOK.replace("{name}", name))
    routes = tmp_path / "tfhook.yaml"
    routes.write_text("routes:\n" + route("first", "a.sh"))
    server = start(tmp_path, "--routes", "tfhook.yaml")
    try:
        assert server.call("PostHandle", updated()) == [("DONE", "a\n")]
        in_flight = server.stream("PostHandle", updated("slow"))
        wait_for((tmp_path / "a-started").exists, what="the call in flight")

        routes.write_text("routes:\n" + route("second", "b.sh"))
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_lines(server, "routes reloaded"), what="the reload")

        assert server.call("PostHandle", updated()) == [("DONE", "b\n")]
        (tmp_path / "release").touch()
        assert in_flight.result() == [("DONE", "a\n")]  # finished on the old routes

        routes.write_text("routes:\n" + route("third", "missing.sh") +
                          "  - {name: fourth, executable: {path: b.sh}, colour: red}\n")
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_lines(server, "routes file not reloaded; the old routes stay"),
                 what="the refused reload")
        problems = log_lines(server, "routes file problem")
        assert len(problems) == 2, server.log()
        assert "routes[0] (third): executable.path: " in problems[0]
        assert "missing.sh does not exist" in problems[0]
        assert "routes[1] (fourth): colour: unknown key" in problems[1]
        assert server.call("PostHandle", updated()) == [("DONE", "b\n")]
        assert server.proc.poll() is None
    finally:
        (tmp_path / "release").touch()
        server.close()


def test_sighup_without_a_routes_file_changes_nothing(tmp_path: Path) -> None:
    hook = write_script(tmp_path / "a.sh", HOOK.replace("{name}", "a"))
    server = start(tmp_path, "--executable-path", str(hook))
    try:
        in_flight = server.stream("PostHandle", updated("slow"))
        wait_for((tmp_path / "a-started").exists, what="the call in flight")
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_lines(server, "SIGHUP received: no routes file (serve --routes "
                                           "FILE); nothing changes"), what="the SIGHUP log")
        (tmp_path / "release").touch()
        assert in_flight.result() == [("DONE", "a\n")]
        assert server.call("PostHandle", updated()) == [("DONE", "a\n")]
        assert server.proc.poll() is None
    finally:
        (tmp_path / "release").touch()
        server.close()


def test_a_reload_keeps_a_terraform_directory_and_its_single_flight(tmp_path: Path) -> None:
    tf_dir = tmp_path / "infra"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text('output "answer" {\n  value = 42\n}\n')
    write_script(tmp_path / "b.sh", HOOK.replace("{name}", "b"))
    state = "  - {name: state, terraform: {dir: infra, terraform: embedded}}\n"
    routes = tmp_path / "tfhook.yaml"
    routes.write_text("routes:\n" + state)
    server = start(tmp_path, "--routes", "tfhook.yaml")
    try:
        assert server.call("PostHandle", updated())[-1][0] == "DONE"
        routes.write_text("routes:\n" + state + route("notify", "b.sh"))
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_lines(server, "routes reloaded"), what="the reload")
        done = server.call("PostHandle", updated())[-1][1].splitlines()
        assert done[0] == "2 routes done"
        assert done[1].startswith("[state] done: terraform refresh done in ")
        assert done[2] == "[notify] done: b"
        # The directory was kept: checked once, at start, not again on reload.
        assert len(log_lines(server, "terraform engine")) == 1, server.log()
    finally:
        server.close()


def test_a_reload_whose_terraform_directory_fails_its_checks_keeps_the_old_routes(
        tmp_path: Path) -> None:
    write_script(tmp_path / "a.sh", HOOK.replace("{name}", "a"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "main.tf").write_text('resource "terraform_data" "x" {\n  input = \n}\n')
    routes = tmp_path / "tfhook.yaml"
    routes.write_text("routes:\n" + route("first", "a.sh"))
    server = start(tmp_path, "--routes", "tfhook.yaml")
    try:
        routes.write_text("routes:\n" + route("first", "a.sh") +
                          "  - {name: state, terraform: {dir: broken, terraform: embedded}}\n")
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_lines(server, "routes file not reloaded; the old routes stay"),
                 what="the refused reload")
        [problem] = log_lines(server, "routes file problem")
        assert "routes[1] (state): terraform.dir: " in problem
        assert "invalid configuration: Invalid expression at main.tf:2" in problem
        assert server.call("PostHandle", updated()) == [("DONE", "a\n")]
    finally:
        server.close()


def test_a_reload_of_yaml_nested_too_deeply_keeps_the_old_routes(tmp_path: Path) -> None:
    write_script(tmp_path / "a.sh", HOOK.replace("{name}", "a"))
    routes = tmp_path / "tfhook.yaml"
    routes.write_text("routes:\n" + route("first", "a.sh"))
    server = start(tmp_path, "--routes", "tfhook.yaml")
    try:
        routes.write_text("routes:\n" + route("first", "a.sh").replace(
            "post-handle", "[" * 5000 + "]" * 5000))
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_lines(server, "routes file not reloaded; the old routes stay"),
                 what="the refused reload")
        [problem] = log_lines(server, "routes file problem")
        assert "tfhook.yaml: not valid YAML: nested too deeply" in problem
        assert server.call("PostHandle", updated()) == [("DONE", "a\n")]
        assert server.proc.poll() is None
    finally:
        server.close()
    assert "Traceback" not in server.log() and "never retrieved" not in server.log()
