"""A live server's /metrics page is valid as a whole: `promtool check metrics` accepts it and
prometheus_client's OpenMetrics parser reads it (each metric exported once), with the
history kept in SQLite and, when PostgreSQL is here, in PostgreSQL."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from support import tools
from support.metrics import exporter
from support.pg import Postgres
from support.servers import HANG_GUARD, start_server, write_script

from tfhook.v1 import handler_pb2 as pb

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"



def page(port: int, accept: str | None = None) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=HANG_GUARD) as response:
        return str(response.read().decode())


def check_page(tmp_path: Path, history: list[str]) -> None:
    """Serve with the exporter on and `history`, answer one call, check the page."""
    promtool = tools.which("promtool")
    if promtool is None:
        pytest.skip(f"promtool is not installed (Debian package `prometheus`; {tools.HINT})")
    hook = write_script(tmp_path / "hook.sh", "cat >/dev/null\necho ok\n")
    config, port = exporter(tmp_path)
    served = start_server(["--executable-path", str(hook), "--config", config, *history],
                          cwd=tmp_path, addr=f"unix:{tmp_path}/s.sock")
    try:
        answers = served.call("PostHandle", pb.PostHandleRequest(scaling_job_id="j", result=1))
        assert answers[-1].status == pb.HandleResponse.DONE
        text = page(port)
        checked = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                                 capture_output=True, timeout=HANG_GUARD, check=False,
                                 env=tools.env())
        # promtool exits 1 on lint problems and 3 on errors: allow neither.
        assert checked.returncode == 0, checked.stdout + checked.stderr
        families = [family.name for family in
                    text_string_to_metric_families(page(port, OPENMETRICS))]
    finally:
        served.close()
    assert len(families) == len(set(families)), sorted(families)
    assert {"tfhook_history_late_rows", "tfhook_history_write_failures",
            "tfhook_held_runs"} <= set(families)


def test_the_page_is_valid_with_the_history_in_sqlite(tmp_path: Path) -> None:
    check_page(tmp_path, ["--state-dir", str(tmp_path / "state")])


def test_the_page_is_valid_with_the_history_in_postgresql(postgres: Postgres,
                                                          tmp_path: Path) -> None:
    check_page(tmp_path, ["--history-url", postgres.database(),
                          "--state-dir", str(tmp_path / "state")])
