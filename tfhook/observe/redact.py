"""Requests without their secrets: what history, logs and `tfhook send` may show.

A request can carry a server group's `edit_parameter` (password, SSH keys, startup
scripts) and `cloud_config`. Everything under those keys is replaced by a marker, found by
key anywhere in the tree, in Go names (`edit_parameter`) and protobuf JSON names
(`editParameter`) alike, so a new place for them in the protocol is covered too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tfhook.core import gojson

MARKER = "[redacted]"
# Keys whose whole value is secret. edit_parameter holds password, ssh_keys and
# startup_scripts; the others are listed so they are caught wherever they appear.
SECRET_KEYS = frozenset({
    "edit_parameter", "editParameter", "cloud_config", "cloudConfig",
    "password", "ssh_keys", "sshKeys", "startup_scripts", "startupScripts",
})
# The values that are secret in themselves (edit_parameter also holds addresses and a host
# name, which are redacted from requests but too common to scrub from free text).
SCRUB_KEYS = frozenset({"password", "ssh_keys", "sshKeys", "startup_scripts", "startupScripts",
                        "cloud_config", "cloudConfig"})
_QUOTED_SCRUB_KEYS = tuple(f'"{key}"'.encode() for key in SCRUB_KEYS)
_QUOTED_SECRET_KEYS = tuple(f'"{key}"'.encode() for key in SECRET_KEYS)
_MIN_SCRUB = 4  # shorter values are too likely to occur by chance in ordinary text


def redact(request: Any) -> Any:
    """A copy of a decoded request with every secret value replaced by MARKER.

    Args:
        request: the decoded JSON a hook receives (or protobuf JSON); not modified.

    Returns:
        The same structure, secrets replaced.
    """
    if isinstance(request, dict):
        return {key: MARKER if key in SECRET_KEYS else redact(value)
                for key, value in request.items()}
    if isinstance(request, list):
        return [redact(item) for item in request]
    return request


def redact_json(data: bytes | str) -> str:
    """Redact request JSON; text that is not JSON is replaced whole (it may hold anything)."""
    try:
        decoded = json.loads(data or "{}")
    except ValueError:
        return MARKER
    return json.dumps(redact(decoded), ensure_ascii=False, separators=(",", ":"))


def names_secret(data: bytes) -> bool:
    """Whether request JSON names a secret key at all. JSON that does not is its own
    redaction, and need not be decoded (#25: it cost a generic call 0.1 ms): a key is always
    written out whole (Go and protobuf JSON never escape a plain ASCII name)."""
    return any(key in data for key in _QUOTED_SECRET_KEYS)


def secret_values(request: Any) -> list[str]:
    """Every password, SSH key, script and cloud-config, so text that echoes one can be scrubbed."""
    found: list[str] = []
    _collect(request, False, found)
    return sorted({value for value in found if len(value) >= _MIN_SCRUB}, key=len, reverse=True)


def request_secrets(data: bytes) -> list[str]:
    """`secret_values` of request JSON; JSON that names no secret key is not decoded (a key
    is always written out whole: Go and protobuf JSON never escape a plain ASCII name)."""
    if not any(key in data for key in _QUOTED_SCRUB_KEYS):
        return []
    try:
        return secret_values(json.loads(data or b"{}"))
    except ValueError:
        return []


def _collect(value: Any, secret: bool, found: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(item, secret or key in SCRUB_KEYS, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, secret, found)
    elif secret and isinstance(value, str):
        found.append(value)
        found.extend(line for line in value.splitlines() if line.strip())


def scrub(text: str, secrets: Iterable[str], *, cut: bool = False) -> str:
    """Replace each secret in free text (a hook's output) by MARKER.

    Both the raw value and its JSON-escaped forms are replaced: a hook that prints
    the request it received shows the password escaped as Go or Python writes it.

    Args:
        text: the text.
        secrets: what `secret_values` found.
        cut: the text is the end of a longer one, so it may begin with the end of a secret:
            that end is replaced too.

    Returns:
        The text without the secrets.
    """
    secrets = list(secrets)
    for secret in secrets:
        for form in _forms(secret):
            text = text.replace(form, MARKER)
    if cut and text:
        size = max((_end_at_start(text, form) for secret in secrets for form in _forms(secret)),
                   default=0)
        if size:
            text = MARKER + text[size:]
    return text


def _end_at_start(text: str, form: str) -> int:
    """The length of the longest end of `form` (not all of it) that `text` begins with."""
    start = form.find(text[0], 1)
    while start != -1:
        if text.startswith(form[start:]):
            return len(form) - start
        start = form.find(text[0], start + 1)
    return 0


def _forms(secret: str) -> list[str]:
    python = json.dumps(secret, ensure_ascii=False)[1:-1]
    go = gojson._string(secret)[1:-1]
    ascii_form = json.dumps(secret)[1:-1]
    return sorted({secret, python, go, ascii_form}, key=len, reverse=True)
