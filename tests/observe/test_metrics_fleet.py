"""What a fleet's dashboards and alerts read (#24): the last success of every Terraform route
from start (0 until one), the process's start time, tfhook_build_info, and no run series for
a route that runs an executable."""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

from support.metrics import Sample, exporter, samples
from support.servers import HANG_GUARD, launch, tfhook_command, write_script
from support.terraform import TfServer, tf_env

from tfhook import __version__

ROUTES = """\
routes:
  - {name: state, terraform: {dir: infra, terraform: embedded}}
  - {name: notify, match: {phase: post-handle}, executable: {path: ./hook.sh}}
"""


def of_route(found: list[Sample], route: str) -> dict[str, float]:
    return {name: value for name, labels, value in found if labels.get("route") == route
            and not name.endswith(("_created", "_bucket", "_sum", "_count"))}


def test_terraform_routes_show_their_last_success_from_start_and_executables_no_runs(
        tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text('output "answer" {\n  value = 42\n}\n')
    write_script(tmp_path / "hook.sh", "cat >/dev/null\necho ok\n")
    (tmp_path / "tfhook.yaml").write_text(ROUTES)
    config, port = exporter(tmp_path)
    sock = tmp_path / "s.sock"
    server = launch(TfServer, tfhook_command("serve", "--routes", "tfhook.yaml", "--config",
                                             config, "--addr", f"unix:{sock}"),
                    cwd=tmp_path, target=f"unix:{sock}", env=tf_env(), timeout=HANG_GUARD,
                    sock=sock)
    try:
        start = samples(port)
        assert of_route(start, "state")["tfhook_last_success_timestamp_seconds"] == 0
        # The executable route has its calls counted, and nothing of runs or Terraform.
        assert set(of_route(start, "notify")) == {"tfhook_calls_total"}
        [(labels, value)] = [(labels, value) for name, labels, value in start
                             if name == "tfhook_build_info"]
        assert value == 1
        assert (labels["version"], labels["python"], labels["grpcio"]) == (
            __version__, platform.python_version(), metadata.version("grpcio"))
        assert re.fullmatch(r"\d+\.\d+\.\d+", labels["terraform"]), labels
        [started] = [value for name, _, value in start if name == "process_start_time_seconds"]
        assert started > 0

        assert server.call("PostHandle", {"resource_name": "elb", "result": "UPDATED"}
                           )[-1][0] == "DONE"
        after = of_route(samples(port), "state")
        assert after["tfhook_last_success_timestamp_seconds"] >= started
        assert set(of_route(samples(port), "notify")) == {"tfhook_calls_total"}
    finally:
        server.close()
