"""What server reflection shows: the protocol as the reference serves it.

The reference's descriptor is the file `handler.proto` with a `json_name` on every field, so
generic clients (grpcurl) print `scalingJobId`. tfhook's generated classes come from
`tfhook/v1/handler.proto` (the path decides their import path, `tfhook.v1.handler_pb2`), so
reflection answers from a pool of its own, built from protoc's descriptor set of
`handler.proto` (`make protos` writes `tfhook/v1/handler.binpb`). The two files define the
same symbols, so they never share a pool. `enable` serves it, under v1alpha and v1.
"""

from __future__ import annotations

import functools
import pkgutil
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import _async as reflection_aio
from grpc_reflection.v1alpha import reflection, reflection_pb2

DESCRIPTOR_SET = "handler.binpb"
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def enable(server: grpc.aio.Server, services: tuple[str, ...]) -> None:
    """Serve reflection on `server`: for `services` and for reflection itself (v1alpha, v1).

    Args:
        server: the gRPC server, before it starts.
        services: the full names of the services it serves besides reflection.
    """
    names = (*services, reflection.SERVICE_NAME, REFLECTION_V1)
    served: Any = LazyPool()  # duck-types a DescriptorPool; see LazyPool
    reflection.enable_server_reflection(names, server, pool=served)
    _add_reflection_v1(names, server, served)


def _add_reflection_v1(names: tuple[str, ...], server: grpc.aio.Server, pool: Any) -> None:
    """Serve reflection v1 too. grpcio-reflection ships only v1alpha, whose messages are
    the same on the wire, so its servicer answers under the v1 name."""
    servicer = reflection_aio.ReflectionServicer(names, pool=pool)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )


class LazyPool:
    """The pool below, built when reflection is first asked: the Core never asks, so a
    server that only answers the Core never holds a second copy of its descriptors."""

    @functools.cached_property
    def _pool(self) -> descriptor_pool.DescriptorPool:
        return pool()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def pool() -> descriptor_pool.DescriptorPool:
    """The descriptors reflection serves: handler.proto as the reference names it, health
    and reflection (v1alpha and v1) as their packages do.

    Returns:
        A pool of its own, apart from the default one the generated classes live in.
    """
    served = descriptor_pool.DescriptorPool()
    for module in (health_pb2, reflection_pb2):
        served.Add(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    served.Add(_reflection_v1())
    data = pkgutil.get_data("tfhook.v1", DESCRIPTOR_SET)  # (importlib.resources: 4 ms more)
    assert data is not None  # (a loader that cannot read files: never tfhook's)
    for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        served.Add(file)
    return served


def _reflection_v1() -> descriptor_pb2.FileDescriptorProto:
    """grpc/reflection/v1/reflection.proto: grpcio-reflection ships only v1alpha, whose
    messages are the same; tfhook serves both (enable), so clients can describe both."""
    file = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    old, new = f".{file.package}.", ".grpc.reflection.v1."
    file.name, file.package = "grpc/reflection/v1/reflection.proto", "grpc.reflection.v1"
    for message in file.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(old, new)
    for method in file.service[0].method:
        method.input_type = method.input_type.replace(old, new)
        method.output_type = method.output_type.replace(old, new)
    return file
