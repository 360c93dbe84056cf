"""A small client for the handler API (used by the demo and tests; the base of `tfhook send`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf import json_format

from tfhook.v1 import handler_pb2, handler_pb2_grpc

RPCS = {"PreHandle": handler_pb2.HandleRequest, "Handle": handler_pb2.HandleRequest,
        "PostHandle": handler_pb2.PostHandleRequest}
STATUS = handler_pb2.HandleResponse.Status


def request(rpc: str, fields: dict[str, Any]) -> Any:
    """Build a request message from protobuf-JSON style fields (`{"result": "UPDATED"}`)."""
    return json_format.ParseDict(fields, RPCS[rpc]())


def call(target: str, rpc: str, message: Any, timeout: float | None = None
         ) -> Iterator[tuple[str, str]]:
    """Call one RPC and yield (status name, log) for each response of the stream.

    Args:
        target: a gRPC target such as `unix:/path/to.sock` or `127.0.0.1:50051`.
        rpc: PreHandle, Handle or PostHandle.
        message: the request message.
        timeout: deadline for the whole call, in seconds.
    """
    with grpc.insecure_channel(target) as channel:
        stub = handler_pb2_grpc.HandleServiceStub(channel)  # type: ignore[no-untyped-call]
        for response in getattr(stub, rpc)(message, timeout=timeout):
            yield STATUS.Name(response.status), response.log
