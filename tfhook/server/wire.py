"""The wire boundary: protobuf requests in, Events out; Updates in, responses out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from tfhook.core import gojson
from tfhook.core.decisions import Refused
from tfhook.core.model import Event, GoJson, Phase, ResourceIds, Update
from tfhook.errors import ActionFailed, ActionTimeout, LockHeld, RequestError, TfhookError
from tfhook.server import wirecost
from tfhook.v1 import handler_pb2

Request = handler_pb2.HandleRequest | handler_pb2.PostHandleRequest
# The largest request accepted: gRPC's default, which tfhook always had. gRPC itself takes
# up to RECEIVE_LIMIT, so that a larger one is still answered by tfhook, and logged.
MAX_REQUEST = 4 * 1024 * 1024
RECEIVE_LIMIT = 4 * MAX_REQUEST


class Encoded:
    """A request as it came (its bytes), parsed only once its conversion may start."""

    __slots__ = ("_data", "cls", "size")

    def __init__(self, data: bytes, cls: type[Request]) -> None:
        self._data: bytes | None = data
        self.cls = cls
        self.size = len(data)

    def cost(self, most: int) -> int:
        """Bytes its conversion may take at the peak (a figure above `most`: more than that).

        Raises:
            wirecost.Malformed: the bytes are not a message.
        """
        assert self._data is not None
        return wirecost.estimate(self._data, self.cls.DESCRIPTOR, most)

    def let_go(self) -> None:
        """Drop the bytes (a refused request: the call still holds this object a while)."""
        self._data = None

    def parse(self) -> Request:
        """The message; the bytes are let go (raises DecodeError for bad bytes)."""
        data, self._data = self._data, None
        assert data is not None
        return self.cls.FromString(data)

    def bad(self) -> BadRequest:
        """What answers bytes that are not a message of its type."""
        return BadRequest(grpc.StatusCode.INVALID_ARGUMENT,
                          f"request is not a valid {self.cls.DESCRIPTOR.name} message")


@dataclass(frozen=True, slots=True)
class BadRequest:
    """What stands in for a request that could not be decoded: the status to answer."""

    code: grpc.StatusCode
    message: str


def decoder(cls: type[Request]) -> Callable[[bytes], Encoded | BadRequest]:
    """A request deserializer that never raises (gRPC would answer UNKNOWN with the
    exception's text and log nothing): an oversize message becomes a BadRequest. It does
    not parse: what parsing costs is weighed first (see tfhook.server.intake)."""

    def decode(data: bytes) -> Encoded | BadRequest:
        if len(data) > MAX_REQUEST:
            return BadRequest(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"request of {len(data)} bytes is larger than the "
                              f"{MAX_REQUEST} bytes accepted")
        return Encoded(data, cls)

    return decode

# One table from domain error to gRPC status; the most specific class wins.
_STATUS: tuple[tuple[type[TfhookError], grpc.StatusCode], ...] = (
    (ActionTimeout, grpc.StatusCode.DEADLINE_EXCEEDED),
    (LockHeld, grpc.StatusCode.ABORTED),
    (ActionFailed, grpc.StatusCode.UNKNOWN),  # what the reference answers for a failed hook
    (RequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (Refused, grpc.StatusCode.FAILED_PRECONDITION),  # an operator's decision, refused (#21)
)


def go_json(request: Request) -> bytes:
    """The exact bytes the reference handler gives an executable for this request.

    Args:
        request: a HandleRequest or PostHandleRequest.

    Returns:
        Go `encoding/json` output (compact, declaration order, zero values omitted).
    """
    return gojson.dumps(request)


def event_from_proto(request: Request, phase: Phase) -> Event:
    """Decode a request into an Event (with the ids it carries; its Go JSON is built later,
    only when something needs it).

    Args:
        request: the message the Core sent.
        phase: which RPC it arrived on.

    Returns:
        The Event the pipeline works with.
    """
    if isinstance(request, handler_pb2.PostHandleRequest):
        resource, instruction, result = request.current, 0, int(request.result)
    else:
        resource, instruction, result = request.desired, int(request.instruction), 0
    return Event(
        phase=phase,
        source=request.source,
        resource_name=request.resource_name,
        scaling_job_id=request.scaling_job_id,
        instruction=instruction,
        result=result,
        resource_ids=_ids(resource),
        request_json=GoJson(lambda: go_json(request), size_hint=request.ByteSize()),
        resource_type=resource.WhichOneof("resource") or "",
    )


def _ids(resource: handler_pb2.Resource) -> ResourceIds:
    """The cloud ids a resource carries: its own and its parent's, each in its place."""
    variant = resource.WhichOneof("resource")
    if variant is None:
        return ResourceIds()
    inner: Any = getattr(resource, variant)
    parent_id = ""
    if "parent" in inner.DESCRIPTOR.fields_by_name and inner.HasField("parent"):
        parent_variant = inner.parent.WhichOneof("resource")
        if parent_variant is not None:
            parent_id = getattr(inner.parent, parent_variant).id
    return ResourceIds(own=inner.id, parent=parent_id)


def update_to_proto(update: Update, event: Event) -> handler_pb2.HandleResponse:
    """One response message for the stream, tagged with the event's job id."""
    return handler_pb2.HandleResponse(
        scaling_job_id=event.scaling_job_id,
        status=int(update.status),  # type: ignore[arg-type]
        log=update.log,
    )


def status_for(error: TfhookError) -> grpc.StatusCode:
    """The gRPC status code a domain error is answered with."""
    for cls, code in _STATUS:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL
