"""`tfhook routes explain`: which routes a request would run, and why the others would not."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tfhook.core.hooks import Hook
from tfhook.core.model import Event, Phase
from tfhook.core.routing import miss
from tfhook.errors import UserError
from tfhook.ops import parse as request
from tfhook.server import wire


def read(source: str) -> tuple[bytes, str]:
    """`--from-json`: the request's JSON and what to call it in errors, from a file, `-`
    (standard input) or the JSON itself."""
    if source == "-":
        return sys.stdin.buffer.read(), "standard input"
    if source.lstrip().startswith("{"):
        return source.encode("utf-8"), "--from-json"
    try:
        return Path(source).read_bytes(), source
    except OSError as exc:
        raise UserError(f"--from-json: cannot read {source}: {exc.strerror or exc}") from None


def event_from_json(text: bytes, where: str, phase: Phase | None) -> Event:
    """An Event from the JSON a hook receives (the reference's Go JSON) or protobuf JSON,
    read by the same parser as `tfhook send`, so explain accepts what send accepts.

    Args:
        text: the request as JSON.
        where: what the request came from, for error messages.
        phase: the phase, when the JSON cannot say (PreHandle and Handle look alike).

    Returns:
        The event, as the server would see it.

    Raises:
        UserError: not a request of that phase (a field it lacks, an unknown code or
            resource type), or no way to tell the phase.
    """
    document = request.load_json(text, where)
    chosen = phase or request.phase_of(document, where)
    message = request.build(chosen, request.Fields(), document, where)
    return wire.event_from_proto(message, chosen)


def explain(event: Event, hooks: Sequence[Hook]) -> str:
    """Lines naming each route: `run NAME`, or `skip NAME: the key that ruled it out`."""
    lines = [request.headline(event)]
    runs = 0
    for hook in hooks:
        why = miss(event, hook.match)
        if why is None:
            runs += 1
            lines.append(f"run   {hook.name}" + (" (parallel)" if hook.parallel else ""))
        else:
            lines.append(f"skip  {hook.name}: {why}")
    if not runs:
        lines.append("no route runs: the call is answered IGNORED")
    return "\n".join(lines) + "\n"
