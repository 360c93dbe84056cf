"""`tfhook send` and `tfhook check`: call a handler as the Core does and show its answer.

The request is never printed, and what the handler answers is scrubbed of the secrets the
request carried (a hook may echo its input).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tfhook.core.model import Phase
from tfhook.errors import UserError
from tfhook.observe import redact
from tfhook.ops import client

EXIT_ANSWERED, EXIT_RPC_ERROR, EXIT_INTERRUPTED = 0, 1, 130
# A SERVING handler answers health at once: send's check takes at most this much of its
# --timeout (check's own default), so a hung socket is reported soon, not after 30m.
HEALTH_CHECK = 5.0
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Budget:
    """`--timeout`: how long the whole call may take, health check included."""

    text: str  # as the operator wrote it, for the message
    ends: float  # time.monotonic() when it runs out

    @classmethod
    def start(cls, text: str, seconds: float) -> Budget:
        return cls(text, time.monotonic() + seconds)

    def left(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def health(self) -> float:
        """How long the health check before the call may take."""
        return min(self.left(), HEALTH_CHECK)


def check(target: str, timeout: float) -> str:
    """Health-check a handler as the Core does at start; a UserError when it is not SERVING."""
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError as exc:
            raise UserError(f"nothing answers at {target}: {_status(exc)}") from None
    status = str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))
    if status != "SERVING":
        raise UserError(f"{target} answers health {status}: the Core would not use it")
    return status


def send(target: str, phase: Phase, message: Any, echo: Echo, note: Echo,
         budget: Budget | None = None) -> int:
    """Call the handler, echo each streamed message as it arrives; the exit code.

    Args:
        budget: what is left of it is the call's deadline; when it runs out the call is
            cancelled (the server stops the hook, as when the Core goes away).

    Returns:
        0 when the stream ended (DONE, IGNORED or nothing to do), 1 on a gRPC error or when
        the budget ran out.
    """
    secrets = redact.secret_values(
        json_format.MessageToDict(message, preserving_proto_field_name=True))
    count = 0
    try:
        for status, log in client.call(target, phase.rpc, message,
                                       None if budget is None else budget.left()):
            count += 1
            echo(redact.scrub(_line(status, log), secrets))
    except grpc.RpcError as exc:
        note(_over(phase, budget) or redact.scrub(f"{phase.rpc} failed: {_status(exc)}", secrets))
        return EXIT_RPC_ERROR
    except KeyboardInterrupt:  # closing the channel cancels the call, as the Core going away does
        note(f"{phase.rpc}: interrupted; the call was cancelled")
        return EXIT_INTERRUPTED
    if count == 0:
        note(f"{phase.rpc}: the handler answered with an empty stream (nothing to do)")
    return EXIT_ANSWERED


def _over(phase: Phase, budget: Budget | None) -> str:
    """The message when the call failed because the budget ran out (a DEADLINE_EXCEEDED of
    the handler's own, a hook's --timeout, keeps its message), else ""."""
    if budget is None or budget.left() > 0:
        return ""
    return f"{phase.rpc}: not done within --timeout {budget.text}; the call was cancelled"


def _line(status: str, log: str) -> str:
    lines = log.splitlines() or [""]
    pad = " " * (len(status) + 2)
    return "\n".join([f"{status}  {lines[0]}".rstrip(), *(pad + line for line in lines[1:])])


def _status(exc: grpc.RpcError) -> str:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    return f"{code.name if code else 'UNKNOWN'}: {details}"
