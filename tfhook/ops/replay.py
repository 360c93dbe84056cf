"""`tfhook send --replay ID`: a recorded call's request, ready to send again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tfhook.core.model import Phase
from tfhook.errors import UserError
from tfhook.history import query
from tfhook.observe.redact import MARKER


def recorded(directory: Path, call_id: int) -> tuple[Phase, dict[str, Any]]:
    """The phase and request of a recorded call; redacted fields are left out.

    Raises:
        UserError: no such call, or it was recorded without its request.
    """
    with query.reading(directory) as conn:
        row = query.call(conn, call_id)
    if row is None:
        raise UserError(f"--replay: no call {call_id} in the history")
    if not row.get("request"):
        raise UserError(f"--replay: call {call_id} was recorded without its request "
                        "(the server keeps requests with --history-requests)")
    return Phase(row["phase"]), _drop_redacted(json.loads(row["request"]))


def _drop_redacted(value: Any) -> Any:
    """Secrets were never stored: a field that held one is sent unset."""
    if isinstance(value, dict):
        return {key: _drop_redacted(item) for key, item in value.items() if item != MARKER}
    if isinstance(value, list):
        return [_drop_redacted(item) for item in value]
    return value
