"""The gRPC servicer: one method per RPC, the only place domain errors become statuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import structlog

from tfhook.core.model import Phase
from tfhook.core.pipeline import Pipeline
from tfhook.errors import TfhookError
from tfhook.server import wire
from tfhook.server.intake import Intake
from tfhook.v1 import handler_pb2, handler_pb2_grpc

Context = grpc.aio.ServicerContext[Any, handler_pb2.HandleResponse]
log = structlog.get_logger("tfhook.service")
SERVICE = handler_pb2.DESCRIPTOR.services_by_name["HandleService"].full_name


class HandleService(handler_pb2_grpc.HandleServiceServicer):
    """autoscaler.HandleService on top of the pipeline."""

    def __init__(self, pipeline: Pipeline, intake: Intake | None = None) -> None:
        self._pipeline = pipeline
        self._intake = intake or Intake()
        self._started: dict[asyncio.Task[Any], float] = {}
        self.stopping = ""  # why calls are cut short: the end of --grace, a second signal
        self.cut_short = 0  # how many were

    def cut(self, why: str = "the --grace period ended") -> int:
        """End every call in progress (the server stops): each answers UNAVAILABLE.

        Args:
            why: what stopped them, as the answer, the log line and the history say.
        """
        self.stopping = why
        for task in self._started:
            # The message is what the call's log line and history row say as its reason.
            task.cancel(f"cut short: the server is stopping ({why})")
        return len(self._started)

    async def PreHandle(
        self, request: wire.Encoded | wire.BadRequest, context: Context
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        async for response in self._serve(request, context, Phase.PRE_HANDLE):
            yield response

    async def Handle(
        self, request: wire.Encoded | wire.BadRequest, context: Context
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        async for response in self._serve(request, context, Phase.HANDLE):
            yield response

    async def PostHandle(
        self, request: wire.Encoded | wire.BadRequest, context: Context
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        async for response in self._serve(request, context, Phase.POST_HANDLE):
            yield response

    async def _serve(
        self, request: wire.Encoded | wire.BadRequest, context: Context, phase: Phase
    ) -> AsyncIterator[handler_pb2.HandleResponse]:
        event = (request if isinstance(request, wire.BadRequest)
                 else await self._intake.event(request, phase))
        if isinstance(event, wire.BadRequest):
            log.warning("bad request", rpc=phase.rpc, code=event.code.name,
                        problem=event.message)
            await context.abort(event.code, event.message)
            return
        task = asyncio.current_task()
        assert task is not None
        self._started[task] = time.monotonic()
        try:
            async for update in self._pipeline.handle(event):
                yield wire.update_to_proto(update, event)
        except TfhookError as exc:
            await context.abort(wire.status_for(exc), str(exc))
        except asyncio.CancelledError:
            if not self.stopping:
                raise  # the client went away
            self.cut_short += 1
            ran = time.monotonic() - self._started[task]
            await context.abort(grpc.StatusCode.UNAVAILABLE, "tfhook is stopping: the call was "
                                f"cut short after running {ran:.1f}s ({self.stopping})")
        finally:
            self._started.pop(task, None)


def add_to_server(servicer: HandleService, server: grpc.aio.Server) -> None:
    """Register the service with request decoders that turn bad bytes into a status."""
    respond = handler_pb2.HandleResponse.SerializeToString
    methods = {
        name: grpc.unary_stream_rpc_method_handler(
            getattr(servicer, name), request_deserializer=wire.decoder(cls),
            response_serializer=respond)
        for name, cls in (("PreHandle", handler_pb2.HandleRequest),
                          ("Handle", handler_pb2.HandleRequest),
                          ("PostHandle", handler_pb2.PostHandleRequest))
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, methods),))
