"""The gRPC servicer: one method per RPC, the only place domain errors become statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from tfhook import wire
from tfhook.errors import TfhookError
from tfhook.model import Phase
from tfhook.pipeline import Pipeline
from tfhook.v1 import handler_pb2, handler_pb2_grpc

Context = grpc.aio.ServicerContext[Any, handler_pb2.HandleResponse]


class HandleService(handler_pb2_grpc.HandleServiceServicer):
    """autoscaler.HandleService on top of the pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def PreHandle(
        self, request: handler_pb2.HandleRequest, context: Context
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        async for response in self._serve(request, context, Phase.PRE_HANDLE):
            yield response

    async def Handle(
        self, request: handler_pb2.HandleRequest, context: Context
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        async for response in self._serve(request, context, Phase.HANDLE):
            yield response

    async def PostHandle(
        self, request: handler_pb2.PostHandleRequest, context: Context
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        async for response in self._serve(request, context, Phase.POST_HANDLE):
            yield response

    async def _serve(
        self, request: wire.Request, context: Context, phase: Phase
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        event = wire.event_from_proto(request, phase)
        try:
            async for update in self._pipeline.handle(event):
                yield wire.update_to_proto(update, event)
        except TfhookError as exc:
            await context.abort(wire.status_for(exc), str(exc))
