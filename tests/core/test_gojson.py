"""Go `encoding/json` compatibility: golden vectors, then each contract rule by hand."""

from __future__ import annotations

import base64
import json

import pytest
from google.protobuf import unknown_fields
from support.servers import vector_request

from tfhook.core import gojson
from tfhook.server.wire import go_json
from tfhook.v1 import handler_pb2 as pb

SGI = pb.ServerGroupInstance


def test_golden_vectors(vectors) -> None:
    assert len(vectors) >= 34
    mismatched = []
    for vector in vectors:
        out = go_json(vector_request(vector))
        if out != vector["go_json"].encode("utf-8") or len(out) != vector["json_bytes"]:
            mismatched.append(vector["name"])
    assert mismatched == []


def _unknown(message) -> int:
    """Fields the generated classes did not recognise, anywhere in the message."""
    count = len(unknown_fields.UnknownFieldSet(message))
    for field, value in message.ListFields():
        if field.message_type is not None:
            for item in value if field.is_repeated else [value]:
                count += _unknown(item)
    return count


def test_generated_classes_understand_every_field_of_the_vectors(vectors) -> None:
    # A wrong field number would leave bytes unparsed (and missing from the JSON).
    for vector in vectors:
        request = vector_request(vector)
        assert _unknown(request) == 0, vector["name"]
        assert request.SerializeToString() == base64.b64decode(vector["proto_b64"]), vector["name"]


def test_unknown_field_check_can_fail() -> None:
    assert _unknown(pb.HandleRequest.FromString(b"\x0a\x01a\xa0\x06\x01")) == 1


def j(message) -> str:
    return go_json(message).decode("utf-8")


def test_all_zero_request_is_empty_object() -> None:
    assert go_json(pb.HandleRequest()) == b"{}"
    assert go_json(pb.PostHandleRequest()) == b"{}"


def test_keys_in_declaration_order_not_number_order() -> None:
    server = pb.Server(id="1", gpu=2, cpu_model="x", name="n", core=4)
    # gpu (19) and cpu_model (20) are declared before name (17).
    assert j(server) == '{"id":"1","core":4,"gpu":2,"cpu_model":"x","name":"n"}'
    sgi = SGI(gpu=1, cpu_model="c", private_host_id="p", cloud_config="cc", cd_rom_id="cd")
    assert j(sgi) == ('{"gpu":1,"cpu_model":"c","private_host_id":"p","cloud_config":"cc",'
                      '"cd_rom_id":"cd"}')


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, ""), (1, '"instruction":1'), (4, '"instruction":4'), (99, '"instruction":99'),
     # enums are int32 on the wire: Go keeps out-of-range and negative values as numbers
     (2147483647, '"instruction":2147483647'), (-1, '"instruction":-1'),
     (-2147483648, '"instruction":-2147483648')],
)
def test_instruction_enum_is_a_number_even_when_unknown(number: int, text: str) -> None:
    assert j(pb.HandleRequest(instruction=number)) == "{" + text + "}"


@pytest.mark.parametrize("number", [2, 99, 12345])
def test_result_enum_unknown_values_stay_numbers(number: int) -> None:
    assert j(pb.PostHandleRequest(result=number)) == f'{{"result":{number}}}'


def test_response_status_is_a_number() -> None:
    assert j(pb.HandleResponse(scaling_job_id="j", status=14, log="l")) == (
        '{"scaling_job_id":"j","status":14,"log":"l"}'
    )
    assert j(pb.HandleResponse(status=7)) == '{"status":7}'


@pytest.mark.parametrize(
    ("variant", "inner", "expected"),
    [
        ("server", pb.Server(id="1"), '{"Resource":{"Server":{"id":"1"}}}'),
        ("server_group_instance", SGI(id="2"), '{"Resource":{"ServerGroupInstance":{"id":"2"}}}'),
        ("elb", pb.ELB(id="3"), '{"Resource":{"Elb":{"id":"3"}}}'),
        ("gslb", pb.GSLB(id="4"), '{"Resource":{"Gslb":{"id":"4"}}}'),
        ("dns", pb.DNS(id="5"), '{"Resource":{"Dns":{"id":"5"}}}'),
        ("router", pb.Router(id="6"), '{"Resource":{"Router":{"id":"6"}}}'),
        ("load_balancer", pb.LoadBalancer(id="7"), '{"Resource":{"LoadBalancer":{"id":"7"}}}'),
    ],
)
def test_resource_oneof_variants_use_go_names(variant, inner, expected) -> None:
    resource = pb.Resource(**{variant: inner})
    assert j(resource) == expected
    assert j(pb.HandleRequest(desired=resource)) == f'{{"desired":{expected}}}'
    assert j(pb.PostHandleRequest(current=resource)) == f'{{"current":{expected}}}'


@pytest.mark.parametrize(
    ("variant", "inner", "expected"),
    [
        ("elb", pb.ELB(id="1"), '{"Resource":{"Elb":{"id":"1"}}}'),
        ("gslb", pb.GSLB(id="2"), '{"Resource":{"Gslb":{"id":"2"}}}'),
        ("dns", pb.DNS(id="3"), '{"Resource":{"Dns":{"id":"3"}}}'),
        ("load_balancer", pb.LoadBalancer(id="4"), '{"Resource":{"LoadBalancer":{"id":"4"}}}'),
    ],
)
def test_parent_oneof_variants_use_go_names(variant, inner, expected) -> None:
    parent = pb.Parent(**{variant: inner})
    assert j(parent) == expected
    assert j(pb.Server(parent=parent, id="s")) == f'{{"parent":{expected},"id":"s"}}'
    assert j(SGI(parent=parent)) == f'{{"parent":{expected}}}'
    assert j(pb.ELB(parent=parent)) == f'{{"parent":{expected}}}'


def test_unset_oneof_is_null_not_omitted() -> None:
    assert j(pb.Resource()) == '{"Resource":null}'
    assert j(pb.Parent()) == '{"Resource":null}'
    assert j(pb.HandleRequest(desired=pb.Resource())) == '{"desired":{"Resource":null}}'
    server = pb.Server(id="1")
    server.parent.SetInParent()
    assert j(server) == '{"parent":{"Resource":null},"id":"1"}'


@pytest.mark.parametrize(
    ("variant", "go"),
    [("server", "Server"), ("server_group_instance", "ServerGroupInstance"), ("elb", "Elb"),
     ("gslb", "Gslb"), ("dns", "Dns"), ("router", "Router"), ("load_balancer", "LoadBalancer")],
)
def test_variant_set_to_empty_message(variant: str, go: str) -> None:
    resource = pb.Resource()
    getattr(resource, variant).SetInParent()
    assert j(resource) == f'{{"Resource":{{"{go}":{{}}}}}}'


def test_elb_with_empty_parent_inside_server_parent() -> None:
    elb = pb.ELB(id="e")
    elb.parent.SetInParent()
    server = pb.Server(parent=pb.Parent(elb=elb))
    assert j(server) == '{"parent":{"Resource":{"Elb":{"parent":{"Resource":null},"id":"e"}}}}'


def test_set_but_zero_messages_are_empty_objects() -> None:
    sgi = SGI()
    sgi.edit_parameter.SetInParent()
    assert j(sgi) == '{"edit_parameter":{}}'
    nic = SGI.NIC()
    nic.assigned_network.SetInParent()
    nic.expose_info.health_check.SetInParent()
    assert j(nic) == '{"assigned_network":{},"expose_info":{"health_check":{}}}'


def test_zero_scalars_are_omitted() -> None:
    server = pb.Server(id="", core=0, dedicated_cpu=False, shutdown_force=True, name="")
    assert j(server) == '{"shutdown_force":true}'
    assert j(pb.GSLBServer(enabled=True)) == '{"enabled":true}'
    assert j(pb.GSLBServer(enabled=False, weight=0)) == "{}"


def test_zero_elements_inside_repeated_fields_are_kept() -> None:
    assert j(SGI.ExposeInfo(ports=[0])) == '{"ports":[0]}'
    assert j(SGI.ExposeInfo(ports=[0, 80, 0])) == '{"ports":[0,80,0]}'
    assert j(SGI(tags=["", "a"])) == '{"tags":["","a"]}'
    assert j(pb.GSLB(servers=[pb.GSLBServer()])) == '{"servers":[{}]}'
    assert j(SGI(disks=[SGI.Disk(), SGI.Disk(tags=[""])])) == '{"disks":[{},{"tags":[""]}]}'
    assert j(pb.DNS(dns_servers=[""])) == '{"dns_servers":[""]}'


def test_empty_repeated_fields_are_omitted() -> None:
    assert j(pb.DNS(dns_servers=[])) == "{}"
    assert j(SGI(tags=[], disks=[], network_interfaces=[])) == "{}"


def test_nested_repeated_messages() -> None:
    lb = pb.LoadBalancer(virtual_ip_addresses=[pb.LoadBalancerVIP(
        ip_address="192.0.2.1", port=80,
        servers=[pb.LoadBalancerServer(ip_address="192.0.2.11", enabled=True),
                 pb.LoadBalancerServer()])])
    assert j(lb) == ('{"virtual_ip_addresses":[{"ip_address":"192.0.2.1","port":80,"servers":'
                     '[{"ip_address":"192.0.2.11","enabled":true},{}]}]}')


def test_uint32_max() -> None:
    top = 4294967295
    info = SGI.ExposeInfo(ports=[top, 0], weight=top, ttl=top)
    assert j(info) == '{"ports":[4294967295,0],"weight":4294967295,"ttl":4294967295}'
    assert j(pb.HandleRequest(setup_grace_period=top)) == '{"setup_grace_period":4294967295}'
    assert j(pb.NetworkInfo(netmask=top, index=top)) == '{"netmask":4294967295,"index":4294967295}'


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ('"', r"\""),
        ("\\", r"\\"),
        ("\b\f\n\r\t", r"\b\f\n\r\t"),
        ("\x00\x01\x07\x0b\x0e\x1a\x1f", r"\u0000\u0001\u0007\u000b\u000e\u001a\u001f"),
        ("<a href='x'>&amp;</a>", r"\u003ca href='x'\u003e\u0026amp;\u003c/a\u003e"),
        ("\u2028\u2029", r"\u2028\u2029"),
        ("/", "/"),
        ("\x7f", "\x7f"),
        ("\x80\x9f\u00a0", "\x80\x9f\u00a0"),  # C1 controls are not escaped by Go
        ("\ufeff", "\ufeff"),
        ("\U0001f600\U0001f9d1\u200d\U0001f4bb", "\U0001f600\U0001f9d1\u200d\U0001f4bb"),
        ("サーバ①", "サーバ①"),
        ("\u2027\u202a", "\u2027\u202a"),  # neighbours of U+2028/9 stay raw
        ("'", "'"),
    ],
)
def test_string_escaping(raw: str, escaped: str) -> None:
    out = go_json(pb.HandleRequest(source=raw))
    assert out == f'{{"source":"{escaped}"}}'.encode()
    assert json.loads(out)["source"] == raw


def test_every_control_character_escapes_like_go() -> None:
    short = {"\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t"}
    for code in range(0x20):
        char = chr(code)
        want = short.get(char, f"\\u00{code:02x}")
        assert go_json(pb.DNS(id=char)) == f'{{"id":"{want}"}}'.encode(), hex(code)


def test_escaping_applies_in_nested_and_repeated_strings() -> None:
    sgi = SGI(tags=["<", "&"], edit_parameter=SGI.EditParameter(ssh_keys=["a\nb"]))
    assert j(sgi) == r'{"edit_parameter":{"ssh_keys":["a\nb"]},"tags":["\u003c","\u0026"]}'


def test_output_is_utf8_bytes_without_trailing_newline() -> None:
    out = go_json(pb.HandleRequest(source="é"))
    assert isinstance(out, bytes)
    assert out == '{"source":"é"}'.encode()
    assert not out.endswith(b"\n")


def test_go_name() -> None:
    assert gojson.go_name("load_balancer") == "LoadBalancer"
    assert gojson.go_name("server_group_instance") == "ServerGroupInstance"
    assert gojson.go_name("elb") == "Elb"
    assert gojson.go_name("resource") == "Resource"


def test_very_large_message_converts_correctly_and_fast() -> None:
    count = 20000
    gslb = pb.GSLB(id="113400000200", fqdn="site.example", name="big", servers=[
        pb.GSLBServer(ip_address=f"192.0.{i // 256 % 256}.{i % 256}", enabled=i % 2 == 0,
                      weight=i % 7) for i in range(count)
    ])
    request = pb.HandleRequest(source="s", instruction=4, desired=pb.Resource(gslb=gslb))
    out = go_json(request)  # speed is for a benchmark, not for a test
    parts = []
    for i in range(count):
        fields = [f'"ip_address":"192.0.{i // 256 % 256}.{i % 256}"']
        if i % 2 == 0:
            fields.append('"enabled":true')
        if i % 7:
            fields.append(f'"weight":{i % 7}')
        parts.append("{" + ",".join(fields) + "}")
    expected = ('{"source":"s","instruction":4,"desired":{"Resource":{"Gslb":{"id":"113400000200",'
                '"fqdn":"site.example","servers":[' + ",".join(parts) + '],"name":"big"}}}}')
    assert out == expected.encode()
