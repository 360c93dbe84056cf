"""The generated code matches protos/handler.proto, and the proto matches the wire contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from support.servers import ROOT, all_fields

from tfhook.v1 import handler_pb2

# The wire contract's message table, by hand: (number, name, type or message), declaration order.
S, U, B = "string", "uint32", "bool"
CONTRACT: dict[str, list[tuple[int, str, str]]] = {
    "HandleRequest": [(1, "source", S), (2, "resource_name", S), (3, "scaling_job_id", S),
                      (4, "instruction", "enum ResourceInstructions"), (5, "desired", "Resource"),
                      (6, "setup_grace_period", U)],
    "PostHandleRequest": [(1, "source", S), (2, "resource_name", S), (3, "scaling_job_id", S),
                          (4, "result", "enum PostHandleRequest.ResourceHandleResults"),
                          (5, "current", "Resource"), (6, "setup_grace_period", U)],
    "HandleResponse": [(1, "scaling_job_id", S), (2, "status", "enum HandleResponse.Status"),
                       (3, "log", S)],
    "Resource": [(1, "server", "Server"), (2, "server_group_instance", "ServerGroupInstance"),
                 (3, "elb", "ELB"), (4, "gslb", "GSLB"), (5, "dns", "DNS"), (6, "router", "Router"),
                 (7, "load_balancer", "LoadBalancer")],
    "Server": [(1, "parent", "Parent"), (11, "id", S), (12, "zone", S), (13, "core", U),
               (14, "memory", U), (15, "dedicated_cpu", B), (19, "gpu", U), (20, "cpu_model", S),
               (16, "assigned_network", "repeated NetworkInfo"), (17, "name", S),
               (18, "shutdown_force", B)],
    "ServerGroupInstance": [
        (1, "parent", "Parent"), (11, "id", S), (12, "zone", S), (13, "core", U),
        (14, "memory", U), (15, "dedicated_cpu", B), (28, "gpu", U), (29, "cpu_model", S),
        (16, "private_host_id", S), (17, "disks", "repeated ServerGroupInstance.Disk"),
        (18, "edit_parameter", "ServerGroupInstance.EditParameter"), (27, "cloud_config", S),
        (19, "network_interfaces", "repeated ServerGroupInstance.NIC"), (20, "cd_rom_id", S),
        (21, "interface_driver", S), (22, "name", S), (23, "tags", "repeated string"),
        (24, "description", S), (25, "icon_id", S), (26, "shutdown_force", B)],
    "ServerGroupInstance.Disk": [
        (11, "id", S), (12, "zone", S), (13, "source_archive_id", S), (14, "source_disk_id", S),
        (15, "plan", S), (16, "connection", S), (17, "size", U), (18, "name", S),
        (19, "tags", "repeated string"), (20, "description", S), (21, "icon_id", S)],
    "ServerGroupInstance.EditParameter": [
        (11, "host_name", S), (12, "password", S), (13, "disable_password_auth", B),
        (14, "enable_dhcp", B), (15, "change_partition_uuid", B), (16, "ip_address", S),
        (17, "network_mask_len", U), (18, "default_route", S), (19, "ssh_keys", "repeated string"),
        (20, "ssh_key_ids", "repeated string"), (21, "startup_scripts", "repeated string")],
    "ServerGroupInstance.NIC": [
        (11, "upstream", S), (12, "packet_filter_id", S), (13, "user_ip_address", S),
        (14, "assigned_network", "NetworkInfo"),
        (15, "expose_info", "ServerGroupInstance.ExposeInfo")],
    "ServerGroupInstance.ExposeInfo": [
        (11, "ports", "repeated uint32"), (12, "server_group_name", S), (13, "weight", U),
        (14, "vips", "repeated string"), (15, "health_check", "ServerGroupInstance.HealthCheck"),
        (16, "record_name", S), (17, "ttl", U)],
    "ServerGroupInstance.HealthCheck": [(11, "protocol", S), (12, "path", S),
                                        (13, "status_code", U)],
    "ELB": [(1, "parent", "Parent"), (11, "id", S), (12, "region", S), (13, "plan", U),
            (14, "virtual_ip_address", S), (15, "fqdn", S), (16, "name", S)],
    "GSLB": [(11, "id", S), (12, "fqdn", S), (13, "servers", "repeated GSLBServer"), (14, "name", S)],
    "GSLBServer": [(11, "ip_address", S), (12, "enabled", B), (13, "weight", U)],
    "DNS": [(11, "id", S), (12, "zone", S), (13, "dns_servers", "repeated string")],
    "Router": [(11, "id", S), (12, "zone", S), (13, "band_width", U), (14, "name", S)],
    "LoadBalancer": [(11, "id", S), (12, "zone", S),
                     (13, "virtual_ip_addresses", "repeated LoadBalancerVIP"), (14, "name", S)],
    "LoadBalancerVIP": [(11, "ip_address", S), (12, "port", U),
                        (13, "servers", "repeated LoadBalancerServer")],
    "LoadBalancerServer": [(11, "ip_address", S), (12, "enabled", B)],
    "Parent": [(11, "elb", "ELB"), (12, "gslb", "GSLB"), (13, "dns", "DNS"),
               (14, "load_balancer", "LoadBalancer")],
    "NetworkInfo": [(11, "ip_address", S), (12, "netmask", U), (13, "gateway", S), (14, "index", U)],
}
ENUMS = {
    "ResourceInstructions": [("UNKNOWN", 0), ("CREATE", 1), ("UPDATE", 2), ("DELETE", 3),
                             ("NOOP", 4)],
    "PostHandleRequest.ResourceHandleResults": [("UNKNOWN", 0), ("CREATED", 1), ("UPDATED", 2),
                                                ("DELETED", 3), ("NO_CHANGE", 4)],
    "HandleResponse.Status": [("UNKNOWN", 0), ("RECEIVED", 11), ("ACCEPTED", 12), ("RUNNING", 13),
                              ("DONE", 14), ("IGNORED", 15)],
}
_SCALARS = {9: "string", 13: "uint32", 8: "bool"}


def _kind(field) -> str:
    if field.message_type is not None:
        base = field.message_type.full_name.removeprefix("autoscaler.")
    elif field.enum_type is not None:
        base = "enum " + field.enum_type.full_name.removeprefix("autoscaler.")
    else:
        base = _SCALARS[field.type]
    return f"repeated {base}" if field.is_repeated else base


def _message(name: str):
    return handler_pb2.DESCRIPTOR.pool.FindMessageTypeByName(f"autoscaler.{name}")


def test_generated_code_matches_proto(tmp_path: Path) -> None:
    try:
        from tfhook.server import protos as _protos
    except ImportError as exc:  # pragma: no cover - _protos itself imports nothing optional
        pytest.fail(f"tfhook.server.protos missing: {exc}")
    pytest.importorskip("grpc_tools", reason="grpcio-tools (a dev dependency) is not installed; "
                        "cannot regenerate tfhook/v1 to compare")
    generated = _protos.generate(tmp_path)
    names = sorted(path.name for path in generated)
    assert names == ["admin_pb2.py", "admin_pb2.pyi", "admin_pb2_grpc.py", "handler.binpb",
                     "handler_pb2.py", "handler_pb2.pyi", "handler_pb2_grpc.py"]
    for path in generated:
        committed = ROOT / "tfhook" / "v1" / path.name
        assert path.read_bytes() == committed.read_bytes(), (
            f"tfhook/v1/{path.name} differs from protos/: run `make protos`"
        )


def test_proto_source_is_where_the_layout_says() -> None:
    source = (ROOT / "protos" / "handler.proto").read_text(encoding="utf-8")
    assert 'syntax = "proto3";' in source
    assert handler_pb2.DESCRIPTOR.package == "autoscaler"
    # The import path decides the Python module (tfhook.v1), not the protobuf package.
    assert handler_pb2.DESCRIPTOR.name == "tfhook/v1/handler.proto"
    assert handler_pb2.__name__ == "tfhook.v1.handler_pb2"


def test_service_methods() -> None:
    service = handler_pb2.DESCRIPTOR.services_by_name["HandleService"]
    assert service.full_name == "autoscaler.HandleService"
    methods = {
        m.name: (m.input_type.name, m.output_type.name, m.server_streaming, m.client_streaming)
        for m in service.methods
    }
    assert methods == {
        "PreHandle": ("HandleRequest", "HandleResponse", True, False),
        "Handle": ("HandleRequest", "HandleResponse", True, False),
        "PostHandle": ("PostHandleRequest", "HandleResponse", True, False),
    }


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_message_fields_match_contract(name: str) -> None:
    fields = [(f.number, f.name, _kind(f)) for f in _message(name).fields]
    assert fields == CONTRACT[name]


@pytest.mark.parametrize("name", ["Resource", "Parent"])
def test_oneof_named_resource_holds_every_field(name: str) -> None:
    message = _message(name)
    assert [o.name for o in message.oneofs] == ["resource"]
    assert [f.name for f in message.oneofs[0].fields] == [f[1] for f in CONTRACT[name]]


def test_no_unexpected_messages() -> None:
    def walk(messages, prefix=""):
        for message in messages:
            yield prefix + message.name
            yield from walk(message.nested_types, prefix + message.name + ".")

    assert set(walk(handler_pb2.DESCRIPTOR.message_types_by_name.values())) == set(CONTRACT)


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enums_match_contract(name: str) -> None:
    enum = handler_pb2.DESCRIPTOR.pool.FindEnumTypeByName(f"autoscaler.{name}")
    assert [(v.name, v.number) for v in enum.values] == ENUMS[name]


def test_expose_info_ports_are_packed() -> None:
    info = handler_pb2.ServerGroupInstance.ExposeInfo(ports=[1, 2])
    # field 11, wire type 2 (length-delimited) = packed
    assert info.SerializeToString() == bytes([11 << 3 | 2, 2, 1, 2])


def test_reflection_descriptor_is_the_protocol_under_the_reference_name() -> None:
    """handler.binpb (what reflection serves) is the generated classes' file, renamed
    `handler.proto`, with a json_name on every field and nothing else changed."""
    data = (ROOT / "tfhook" / "v1" / "handler.binpb").read_bytes()
    (served,) = descriptor_pb2.FileDescriptorSet.FromString(data).file
    assert served.name == "handler.proto"
    ours = descriptor_pb2.FileDescriptorProto()
    handler_pb2.DESCRIPTOR.CopyToProto(ours)
    fields = list(all_fields(served.message_type))
    assert len(fields) == 128 and all(f.HasField("json_name") for f in fields)
    assert [f.json_name for f in fields][:3] == ["source", "resourceName", "scalingJobId"]
    for field in fields:
        field.ClearField("json_name")
    served.name = ours.name
    assert served == ours
