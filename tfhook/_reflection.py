"""What server reflection shows: the protocol as the reference serves it.

The reference's descriptor is the file `handler.proto` with a `json_name` on every field, so
generic clients (grpcurl) print `scalingJobId`. tfhook's generated classes come from
`tfhook/v1/handler.proto` (the path decides their import path, `tfhook.v1.handler_pb2`), so
reflection answers from a pool of its own, built from protoc's descriptor set of
`handler.proto` (`make protos` writes `tfhook/v1/handler.binpb`). The two files define the
same symbols, so they never share a pool.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

DESCRIPTOR_SET = "handler.binpb"


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
    data = resources.files("tfhook.v1").joinpath(DESCRIPTOR_SET).read_bytes()
    for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        served.Add(file)
    return served


def _reflection_v1() -> descriptor_pb2.FileDescriptorProto:
    """grpc/reflection/v1/reflection.proto: grpcio-reflection ships only v1alpha, whose
    messages are the same; tfhook serves both (server.py), so clients can describe both."""
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
