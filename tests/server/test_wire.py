"""The wire boundary: requests to Events, Updates to responses, errors to status codes."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import json_format
from support.servers import vector_request

from tfhook.core.hooks import RESOURCE_TYPES
from tfhook.core.model import Phase, ResourceIds, Status, Update
from tfhook.errors import ActionFailed, ActionTimeout, LockHeld, RequestError, TfhookError, UserError
from tfhook.server import wire
from tfhook.v1 import handler_pb2 as pb


def test_post_handle_request_becomes_an_event() -> None:
    request = pb.PostHandleRequest(
        source="grafana", resource_name="elb", scaling_job_id="job-1", result=2,
        current=pb.Resource(elb=pb.ELB(id="113300000001", region="is1", plan=400,
                                       name="with-terraform")))
    event = wire.event_from_proto(request, Phase.POST_HANDLE)
    assert event.phase is Phase.POST_HANDLE
    assert (event.source, event.resource_name, event.scaling_job_id) == ("grafana", "elb", "job-1")
    assert (event.instruction, event.result) == (0, 2)
    assert event.resource_ids == ResourceIds(own="113300000001")
    # The contract's own example, byte for byte.
    assert event.request_json.get() == (
        b'{"source":"grafana","resource_name":"elb","scaling_job_id":"job-1","result":2,'
        b'"current":{"Resource":{"Elb":{"id":"113300000001","region":"is1","plan":400,'
        b'"name":"with-terraform"}}}}'
    )


@pytest.mark.parametrize("phase", [Phase.PRE_HANDLE, Phase.HANDLE])
def test_handle_request_becomes_an_event(phase: Phase) -> None:
    request = pb.HandleRequest(scaling_job_id="j", instruction=99, desired=pb.Resource(
        server=pb.Server(id="s1", parent=pb.Parent(load_balancer=pb.LoadBalancer(id="lb1")))))
    event = wire.event_from_proto(request, phase)
    assert event.phase is phase
    assert (event.instruction, event.result) == (99, 0)
    assert event.resource_ids == ResourceIds(own="s1", parent="lb1")
    assert event.request_json.get() == wire.go_json(request)


@pytest.mark.parametrize(
    ("resource", "ids"),
    [
        (pb.Resource(), ResourceIds()),
        (pb.Resource(router=pb.Router(id="r")), ResourceIds(own="r")),
        (pb.Resource(dns=pb.DNS()), ResourceIds()),
        # A parent's id alone is the parent's, never taken for the resource's own.
        (pb.Resource(server=pb.Server(parent=pb.Parent(gslb=pb.GSLB(id="g")))),
         ResourceIds(parent="g")),
        (pb.Resource(server=pb.Server(id="s", parent=pb.Parent())), ResourceIds(own="s")),
        (pb.Resource(server_group_instance=pb.ServerGroupInstance(
            id="i", parent=pb.Parent(elb=pb.ELB(id="e")))), ResourceIds(own="i", parent="e")),
        (pb.Resource(elb=pb.ELB(id="e", parent=pb.Parent(dns=pb.DNS(id="d")))),
         ResourceIds(own="e", parent="d")),
    ],
)
def test_resource_ids(resource, ids) -> None:
    event = wire.event_from_proto(pb.HandleRequest(desired=resource), Phase.HANDLE)
    assert event.resource_ids == ids
    assert event.resource_ids.values() == tuple(i for i in (ids.own, ids.parent) if i)


def test_golden_vectors_through_event_from_proto(vectors) -> None:
    phases = {"PreHandle": Phase.PRE_HANDLE, "Handle": Phase.HANDLE,
              "PostHandle": Phase.POST_HANDLE}
    for vector in vectors:
        event = wire.event_from_proto(vector_request(vector), phases[vector["rpc"]])
        assert event.request_json.get() == vector["go_json"].encode(), vector["name"]


def test_event_never_shows_the_request_body_in_describe() -> None:
    request = pb.HandleRequest(desired=pb.Resource(server_group_instance=pb.ServerGroupInstance(
        edit_parameter=pb.ServerGroupInstance.EditParameter(password="hunter2"))))
    described = wire.event_from_proto(request, Phase.HANDLE).describe()
    assert "hunter2" not in repr(described)


def test_update_to_proto_carries_the_job_id() -> None:
    event = wire.event_from_proto(pb.HandleRequest(scaling_job_id="job-9"), Phase.HANDLE)
    response = wire.update_to_proto(Update(Status.DONE, "out\n"), event)
    assert response == pb.HandleResponse(scaling_job_id="job-9", status=pb.HandleResponse.DONE,
                                         log="out\n")
    for status in Status:
        assert wire.update_to_proto(Update(status), event).status == int(status)
        assert pb.HandleResponse.Status.Name(int(status)) == status.name


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ActionFailed("x"), grpc.StatusCode.UNKNOWN),
        (ActionTimeout("x"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (LockHeld("x"), grpc.StatusCode.ABORTED),
        (RequestError("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (UserError("x"), grpc.StatusCode.INTERNAL),
        (TfhookError("x"), grpc.StatusCode.INTERNAL),
    ],
)
def test_status_for(error: TfhookError, code: grpc.StatusCode) -> None:
    assert wire.status_for(error) is code


def test_go_json_is_built_only_when_asked_for_and_once() -> None:
    request = pb.PostHandleRequest(source="s", result=2)
    event = wire.event_from_proto(request, Phase.POST_HANDLE)
    assert "built=False" in repr(event.request_json)  # Terraform mode never asks for it
    request.source = "changed after decoding"  # proves when the bytes were made
    first = event.request_json.get()
    assert first == b'{"source":"changed after decoding","result":2}'
    request.source = "changed again"
    assert event.request_json.get() is first
    assert "source" not in repr(event.request_json)  # a repr never shows the body


def test_a_large_request_is_built_in_a_worker_thread() -> None:
    import asyncio
    import threading

    from tfhook.core.model import OFF_LOOP_BYTES, GoJson

    threads: list[str] = []

    def build() -> bytes:
        threads.append(threading.current_thread().name)
        return b"{}"

    async def both() -> tuple[bytes, bytes]:
        large = GoJson(build, size_hint=OFF_LOOP_BYTES + 1)
        small = GoJson(build, size_hint=OFF_LOOP_BYTES)
        return await large.get_async(), await small.get_async()

    assert asyncio.run(both()) == (b"{}", b"{}")
    assert threads[0] != threading.main_thread().name
    assert threads[1] == threading.main_thread().name


def test_events_carry_the_resource_type() -> None:
    for kind in RESOURCE_TYPES:
        post = json_format.ParseDict({"result": "UPDATED", "current": {kind: {"id": "7"}}},
                                     pb.PostHandleRequest())
        handle = json_format.ParseDict({"desired": {kind: {"id": "7"}}},
                                       pb.HandleRequest())
        assert wire.event_from_proto(post, Phase.POST_HANDLE).resource_type == kind
        assert wire.event_from_proto(handle, Phase.HANDLE).resource_type == kind
    assert wire.event_from_proto(pb.HandleRequest(), Phase.HANDLE).resource_type == ""
