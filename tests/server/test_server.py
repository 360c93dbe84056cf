"""The server process: addresses, health, reflection, socket files, bad calls, metrics."""

from __future__ import annotations

import signal
import socket
import stat
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from support.servers import (
    HANG_GUARD,
    SERVICE,
    abstract_name,
    env_with,
    free_port,
    health_status,
    run_tfhook,
    start_server,
    wait_for,
    write_script,
)

from tfhook.v1 import handler_pb2 as pb

SERVING = health_pb2.HealthCheckResponse.SERVING
DONE = pb.HandleResponse.DONE


HOOK = 'printf "hook saw %s" "$1"\n'


@pytest.fixture
def hook(tmp_path: Path) -> Path:
    return write_script(tmp_path / "hook", HOOK)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the checks that leave no trace (reflection, bad calls)."""
    where = tmp_path_factory.mktemp("shared")
    (where / "home").mkdir()
    served = start_server(["--executable-path", str(write_script(where / "hook", HOOK))],
                          cwd=where, addr=f"unix:{where / 's.sock'}",
                          env=env_with(HOME=str(where / "home")))
    yield served
    served.close()


def assert_answers(served) -> None:
    """A real call goes through and reaches the hook."""
    responses = served.call("PostHandle", pb.PostHandleRequest(scaling_job_id="j", result=1))
    assert responses == [pb.HandleResponse(scaling_job_id="j", status=DONE,
                                           log='hook saw {"scaling_job_id":"j","result":1}')]


def one_line_error(result) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tfhook: error: ")
    return lines[0]


def _addresses(tmp_path: Path):
    port = free_port()
    return {
        "relative": ("unix:relative.sock", f"unix:{tmp_path / 'relative.sock'}",
                     tmp_path / "relative.sock"),
        "absolute": (f"unix://{tmp_path / 'abs.sock'}", f"unix:{tmp_path / 'abs.sock'}",
                     tmp_path / "abs.sock"),
        "abstract": ((name := f"unix-abstract:{abstract_name()}"), name, None),
        "tcp": (f"127.0.0.1:{port}", f"127.0.0.1:{port}", None),
    }


@pytest.mark.parametrize("kind", ["relative", "absolute", "abstract", "tcp"])
def test_listens_on_every_address_form(tmp_path, serve, hook, kind: str) -> None:
    addr, target, path = _addresses(tmp_path)[kind]
    served = serve("--executable-path", str(hook), addr=addr, target=target)
    assert health_status(served.channel) == SERVING
    assert health_status(served.channel, SERVICE) == SERVING
    assert_answers(served)
    if path is not None:
        assert stat.S_ISSOCK(path.stat().st_mode)
    assert served.stop() == 0
    if path is not None:
        assert not path.exists(), "socket file left behind after SIGTERM"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_cleanly_and_removes_the_socket(tmp_path, serve, hook, sig) -> None:
    served = serve("--executable-path", str(hook), addr="unix:s.sock",
                   target=f"unix:{tmp_path / 's.sock'}")
    assert (tmp_path / "s.sock").exists()
    assert served.stop(sig) == 0
    assert not (tmp_path / "s.sock").exists()
    assert "Traceback" not in served.log()


def test_reflection_lists_the_service_v1alpha(shared) -> None:
    served = shared
    database = ProtoReflectionDescriptorDatabase(served.channel)
    services = set(database.get_services())
    assert {SERVICE, "grpc.health.v1.Health"} <= services
    described = database.FindFileContainingSymbol(SERVICE)
    assert described.package == "autoscaler"
    assert "HandleRequest" in [m.name for m in described.message_type]


def test_reflection_v1(shared) -> None:
    served = shared
    call = served.channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    [response] = list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                           timeout=HANG_GUARD))
    names = {s.name for s in response.list_services_response.service}
    assert SERVICE in names


def test_stale_socket_file_is_replaced(tmp_path, serve, hook) -> None:
    path = tmp_path / "stale.sock"
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))
    leftover.close()  # no unlink: what a killed server leaves behind
    path.chmod(0o751)  # a mark: the server's own socket is 0600
    served = serve("--executable-path", str(hook), addr=f"unix:{path}")
    assert_answers(served)
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_live_server_socket_is_not_stolen(tmp_path, serve, hook) -> None:
    path = tmp_path / "live.sock"
    first = serve("--executable-path", str(hook), addr=f"unix:{path}")
    inode = path.stat().st_ino
    result = run_tfhook(["serve", "--executable-path", str(hook), "--addr", f"unix:{path}"],
                        cwd=tmp_path)
    message = one_line_error(result)
    assert "another server is answering" in message and str(path) in message
    assert path.stat().st_ino == inode
    assert health_status(first.channel) == SERVING
    assert_answers(first)


@pytest.mark.parametrize("kind", ["abstract", "tcp"])
def test_address_in_use_is_refused(tmp_path, serve, hook, kind: str) -> None:
    addr, target, _ = _addresses(tmp_path)[kind]
    first = serve("--executable-path", str(hook), addr=addr, target=target)
    result = run_tfhook(["serve", "--executable-path", str(hook), "--addr", addr], cwd=tmp_path)
    assert "address already in use" in one_line_error(result)
    assert_answers(first)


def test_an_address_this_machine_does_not_have_is_one_line(tmp_path, hook) -> None:
    # 192.0.2.1 is TEST-NET-1 (documentation only): never an address of this machine.
    result = run_tfhook(["serve", "--executable-path", str(hook), "--addr", "192.0.2.1:50051"],
                        cwd=tmp_path)
    assert "--addr 192.0.2.1:50051: cannot listen: " in one_line_error(result)


def test_existing_non_socket_file_is_not_replaced(tmp_path, hook) -> None:
    (tmp_path / "precious.sock").write_text("data")
    result = run_tfhook(["serve", "--executable-path", str(hook), "--addr", "unix:precious.sock"],
                        cwd=tmp_path)
    assert "is not a socket" in one_line_error(result)
    assert (tmp_path / "precious.sock").read_text() == "data"


def test_socket_in_missing_directory(tmp_path, hook) -> None:
    result = run_tfhook(["serve", "--executable-path", str(hook), "--addr", "unix:no/dir/s.sock"],
                        cwd=tmp_path)
    assert "does not exist" in one_line_error(result)


@pytest.mark.parametrize(("flags", "mode"), [((), 0o600), (("--socket-mode", "0660"), 0o660)])
def test_socket_mode(tmp_path, serve, hook, flags, mode: int) -> None:
    path = tmp_path / "m.sock"
    serve("--executable-path", str(hook), *flags, addr=f"unix:{path}")
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_an_abstract_socket_is_served_with_a_warning(tmp_path, serve, hook) -> None:
    # No file, so no mode: any user of the machine can connect; say so at start.
    addr = f"unix-abstract:{abstract_name()}"
    served = serve("--executable-path", str(hook), addr=addr)
    assert_answers(served)
    warnings = [line for line in served.log().splitlines() if "level=warn " in line]
    assert len(warnings) == 1, served.log()
    assert "listening on an abstract socket: it has no file mode" in warnings[0]
    quiet = serve("--executable-path", str(hook), addr=f"unix:{tmp_path / 'q.sock'}")
    assert "abstract socket" not in quiet.log()


def test_socket_mode_on_an_abstract_socket_is_refused(tmp_path, hook) -> None:
    addr = f"unix-abstract:{abstract_name()}"
    result = run_tfhook(["serve", "--executable-path", str(hook), "--addr", addr,
                         "--socket-mode", "0600"], cwd=tmp_path)
    assert one_line_error(result) == (
        f"tfhook: error: --socket-mode: an abstract socket ({addr}) has no file, so no mode "
        "can restrict who connects: listen on unix:PATH to use --socket-mode")


def test_malformed_request_bytes_then_a_good_call(shared) -> None:
    served = shared
    raw = served.channel.unary_stream("/autoscaler.HandleService/PostHandle",
                                      request_serializer=None, response_deserializer=None)
    for garbage in (b"\xff\xff\xff\xff", b"\x0a\x80", b"\x22\x05abc"):
        with pytest.raises(grpc.RpcError) as info:
            list(raw(garbage, timeout=HANG_GUARD))
        # tfhook's own decoder answers, never grpcio's UNKNOWN with an exception text.
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details() == "request is not a valid PostHandleRequest message"
    assert_answers(served)
    assert served.log().count("bad request") >= 3


def test_huge_request_is_resource_exhausted_then_a_good_call(shared) -> None:
    served = shared
    huge = pb.PostHandleRequest(source="x" * (5 * 1024 * 1024))
    with pytest.raises(grpc.RpcError) as info:
        served.call("PostHandle", huge)
    assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_answers(served)
    assert served.proc.poll() is None


def test_calls_run_concurrently(tmp_path, serve) -> None:
    # Two calls that each wait for the other to have started: serialising them would hang.
    hook = write_script(tmp_path / "hook", f"""\
touch "{tmp_path}/started.$$"
n=0
while [ "$(ls {tmp_path} | grep -c '^started')" -lt 2 ]; do
  n=$((n+1)); [ $n -gt 1200 ] && exit 9  # a bound against a hang (60 s)
  sleep 0.05
done
echo together
""")
    served = serve("--executable-path", str(hook))
    calls = [served.stub.PostHandle(pb.PostHandleRequest(), timeout=HANG_GUARD) for _ in range(2)]
    assert [[r.log for r in call] for call in calls] == [["together\n"], ["together\n"]]


def test_metrics_exporter(tmp_path, serve, hook) -> None:
    port = free_port()
    config = tmp_path / "handler.yaml"
    config.write_text(f'exporter_config: {{enabled: true, address: "127.0.0.1:{port}"}}\n')
    served = serve("--executable-path", str(hook), "--config", str(config))
    assert_answers(served)
    assert served.call("Handle", pb.HandleRequest()) == []

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=HANG_GUARD) as response:
            return response.read().decode()

    text = wait_for(scrape, what="the metrics endpoint")
    assert ('tfhook_calls_total{outcome="done",phase="post-handle",route="executable"} 1.0'
            in text)
    assert 'tfhook_calls_total{outcome="ignored",phase="handle",route=""} 1.0' in text
    assert ('tfhook_call_duration_seconds_count{phase="post-handle",route="executable"} 1.0'
            in text)


def test_metrics_exporter_port_in_use_fails_before_binding(tmp_path, hook) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "handler.yaml"
        config.write_text(f'exporter_config: {{enabled: true, address: "127.0.0.1:{port}"}}\n')
        result = run_tfhook(["serve", "--executable-path", str(hook), "--config", str(config),
                             "--addr", "unix:m.sock"], cwd=tmp_path)
    assert "exporter_config.address" in one_line_error(result)
    assert not (tmp_path / "m.sock").exists()


