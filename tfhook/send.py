"""`tfhook send` and `tfhook check`: call a handler as the Core does and show its answer.

The request is never printed, and what the handler answers is scrubbed of the secrets the
request carried (a hook may echo its input).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tfhook import client, redact
from tfhook.errors import UserError
from tfhook.hook import Instruction, Result
from tfhook.model import Phase

RESOURCE_TYPES = ("server", "server_group_instance", "elb", "gslb", "dns", "router",
                  "load_balancer")
EXIT_ANSWERED, EXIT_RPC_ERROR, EXIT_INTERRUPTED = 0, 1, 130
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Fields:
    """Request fields given as flags; None leaves the field as the JSON (or default) has it."""

    result: str | None = None
    instruction: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    source: str | None = None
    job_id: str | None = None


def load_json(text: str, where: str) -> dict[str, Any]:
    """Decode request JSON; a UserError names `where` when it is not a JSON object."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(document).__name__}")
    return document


def from_go(value: Any) -> Any:
    """The reference's Go JSON (`{"Resource": {"Elb": {...}}}`) as protobuf JSON fields."""
    if isinstance(value, list):
        return [from_go(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Resource"}:
        variants = value["Resource"] or {}
        if not isinstance(variants, dict):
            raise UserError(f"\"Resource\" must be an object or null, not {variants!r}")
        return {_snake(name): from_go(inner) for name, inner in variants.items()}
    return {key: from_go(item) for key, item in value.items()}


def _snake(go_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", go_name).lower()


def build(phase: Phase, fields: Fields, document: dict[str, Any] | None, where: str = "request"
          ) -> Any:
    """The request message: the document (Go or protobuf JSON) with the flags applied.

    Without a document, PostHandle defaults to result UPDATED and the others to
    instruction UPDATE.
    """
    post = phase is Phase.POST_HANDLE
    if post and fields.instruction is not None:
        raise UserError("--instruction: only for pre-handle and handle (post-handle has --result)")
    if not post and fields.result is not None:
        raise UserError("--result: only for post-handle (pre-handle and handle have --instruction)")
    if document is None:
        document = {"source": "tfhook-send", "scaling_job_id": "tfhook-send",
                    **({"result": "UPDATED"} if post else {"instruction": "UPDATE"})}
    try:
        message = client.request(phase.rpc, from_go(document))
    except json_format.ParseError as exc:
        reason = " ".join(str(exc).split())  # protobuf's message spans lines
        raise UserError(f"{where}: not a {phase.rpc} request: {reason}") from None
    _apply(message, fields, post)
    return message


def _apply(message: Any, fields: Fields, post: bool) -> None:
    for attr, value in (("source", fields.source), ("resource_name", fields.resource_name),
                        ("scaling_job_id", fields.job_id)):
        if value is not None:
            setattr(message, attr, value)
    if fields.result is not None:
        message.result = _code(Result, fields.result, "--result")
    if fields.instruction is not None:
        message.instruction = _code(Instruction, fields.instruction, "--instruction")
    if fields.resource_type is not None:
        kind = fields.resource_type.replace("-", "_").lower()
        if kind not in RESOURCE_TYPES:
            raise UserError(f"--resource-type: {fields.resource_type!r} is not one of "
                            f"{', '.join(RESOURCE_TYPES)}")
        getattr(message.current if post else message.desired, kind).SetInParent()


def _code(enum_type: type[Result] | type[Instruction], text: str, flag: str) -> int:
    key = text.strip().upper().replace("-", "_")
    if key.isdigit():
        return int(key)
    if key not in enum_type.__members__:
        names = ", ".join(name.lower().replace("_", "-") for name in enum_type.__members__)
        raise UserError(f"{flag}: {text!r} is not one of {names}")
    return int(enum_type[key])


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


def send(target: str, phase: Phase, message: Any, echo: Echo, note: Echo) -> int:
    """Call the handler, echo each streamed message as it arrives; the exit code.

    Returns:
        0 when the stream ended (DONE, IGNORED or nothing to do), 1 on a gRPC error.
    """
    secrets = redact.secret_values(
        json_format.MessageToDict(message, preserving_proto_field_name=True))
    count = 0
    try:
        for status, log in client.call(target, phase.rpc, message):
            count += 1
            echo(redact.scrub(_line(status, log), secrets))
    except grpc.RpcError as exc:
        note(redact.scrub(f"{phase.rpc} failed: {_status(exc)}", secrets))
        return EXIT_RPC_ERROR
    except KeyboardInterrupt:  # closing the channel cancels the call, as the Core going away does
        note(f"{phase.rpc}: interrupted; the call was cancelled")
        return EXIT_INTERRUPTED
    if count == 0:
        note(f"{phase.rpc}: the handler answered with an empty stream (nothing to do)")
    return EXIT_ANSWERED


def _line(status: str, log: str) -> str:
    lines = log.splitlines() or [""]
    pad = " " * (len(status) + 2)
    return "\n".join([f"{status}  {lines[0]}".rstrip(), *(pad + line for line in lines[1:])])


def _status(exc: grpc.RpcError) -> str:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    return f"{code.name if code else 'UNKNOWN'}: {details}"
