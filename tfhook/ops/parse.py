"""Requests from JSON: the one parser behind `tfhook send` and `tfhook routes explain`.

It reads the JSON a hook receives (the reference's Go JSON) or protobuf JSON, rejects what
the Core could never send (an instruction on PostHandle, an unknown resource type), and
applies the fields given as flags.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from tfhook.core import names
from tfhook.core.hooks import RESOURCE_TYPES
from tfhook.core.model import Event, Phase
from tfhook.core.routing import code_name
from tfhook.errors import UserError
from tfhook.hook import Instruction, Result
from tfhook.ops import client

PARENT_TYPES = ("elb", "gslb", "dns", "load_balancer")  # what a `Parent` can be


@dataclass(frozen=True, slots=True)
class Fields:
    """Request fields given as flags; None leaves the field as the JSON (or default) has it."""

    result: str | None = None
    instruction: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    source: str | None = None
    job_id: str | None = None
    resource_id: str | None = None
    parent_id: str | None = None
    parent_type: str | None = None


def load_json(text: str | bytes, where: str) -> dict[str, Any]:
    """Decode request JSON; a UserError names `where` when it is not a JSON object."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(document).__name__}")
    return document


_POST_ONLY = {"result", "current"}  # PostHandleRequest's fields that the others lack
_HANDLE_ONLY = {"instruction", "desired", "setup_grace_period"}  # and PreHandle/Handle's


def phase_of(document: dict[str, Any], where: str) -> Phase:
    """The phase a document shows: PostHandle has `result` or `current`; PreHandle and
    Handle look alike, so their phase must be given (and when the fields contradict)."""
    keys = {_snake(str(key)) for key in document}
    post, handle = sorted(keys & _POST_ONLY), sorted(keys & _HANDLE_ONLY)
    if post and handle:
        raise UserError(f"{where}: the request has {', '.join(handle)} (PreHandle or Handle) "
                        f"and {', '.join(post)} (PostHandle): give --phase pre-handle, handle "
                        "or post-handle to say which it is")
    if post:
        return Phase.POST_HANDLE
    raise UserError(f"{where}: the request does not say its phase (it has no result or "
                    "current): give --phase pre-handle, handle or post-handle")


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
    instruction UPDATE. A field the phase's message lacks (`instruction` on PostHandle,
    `result` on Handle) or an unknown resource type is a UserError naming `where`.
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


def headline(event: Event) -> str:
    """What a request says, in one line: its phase, resource, source and result or instruction."""
    kind = event.resource_type or "(no resource)"
    code = (f"result {code_name(Result, event.result)}" if event.phase is Phase.POST_HANDLE
            else f"instruction {code_name(Instruction, event.instruction)}")
    return f"{event.phase.rpc} {kind} {event.resource_name!r} (source {event.source!r}, {code})"


def _apply(message: Any, fields: Fields, post: bool) -> None:
    for attr, value in (("source", fields.source), ("resource_name", fields.resource_name),
                        ("scaling_job_id", fields.job_id)):
        if value is not None:
            setattr(message, attr, value)
    if fields.result is not None:
        message.result = _code(Result, fields.result, "--result")
    if fields.instruction is not None:
        message.instruction = _code(Instruction, fields.instruction, "--instruction")
    resource = message.current if post else message.desired
    if fields.resource_type is not None:
        kind = fields.resource_type.replace("-", "_").lower()
        if kind not in RESOURCE_TYPES:
            raise UserError(f"--resource-type: {fields.resource_type!r} is not one of "
                            f"{', '.join(RESOURCE_TYPES)}")
        getattr(resource, kind).SetInParent()
    if fields.resource_id is not None:
        kind = resource.WhichOneof("resource")
        if kind is None:
            raise UserError("--resource-id: say the resource's type too (--resource-type)")
        getattr(resource, kind).id = fields.resource_id
    if fields.parent_id is not None or fields.parent_type is not None:
        _parent(resource, fields)


def _parent(resource: Any, fields: Fields) -> None:
    """Set the parent's type and id (a server, server_group_instance or elb has one)."""
    kind = resource.WhichOneof("resource")
    inner = getattr(resource, kind) if kind else None
    if inner is None or "parent" not in inner.DESCRIPTOR.fields_by_name:
        raise UserError(f"--parent-id, --parent-type: {kind or 'a request with no resource'} "
                        "has no parent (server, server_group_instance and elb have one)")
    parent = (fields.parent_type.replace("-", "_").lower() if fields.parent_type is not None
              else inner.parent.WhichOneof("resource"))
    if parent is None:
        raise UserError("--parent-id: say the parent's type too (--parent-type)")
    if parent not in PARENT_TYPES:
        raise UserError(f"--parent-type: {fields.parent_type!r} is not one of "
                        f"{', '.join(PARENT_TYPES)}")
    variant = getattr(inner.parent, parent)  # choosing a variant clears the other ones
    variant.SetInParent()
    if fields.parent_id is not None:
        variant.id = fields.parent_id


def _code(enum_type: type[Result] | type[Instruction], text: str, flag: str) -> int:
    code = names.parse_code(enum_type, text, any_number=True)  # send may send any number
    if code is None:
        raise UserError(f"{flag}: {text!r} is not {names.code_choices(enum_type, any_number=True)}")
    return code
