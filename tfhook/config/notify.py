"""Notification URLs (#23): a route's `notify` key, `--notify-file` and TFHOOK_NOTIFY_URLS.

URLs come from files and the environment, never from argv (URLs hold tokens, and every
local user reads a command line). A problem names a URL only masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tfhook.config.env import NOTIFY_URLS
from tfhook.core.notices import DEFAULT_ON, KINDS, Notify, mask
from tfhook.errors import RoutesError, UserError

_AS_PATH = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):/+(.*)", re.DOTALL)
ENV = NOTIFY_URLS  # server-wide URLs, separated by spaces or newlines


def _url(value: Any) -> str:
    if not isinstance(value, str) or "://" not in value or any(c.isspace() for c in value):
        shown = mask(value) if isinstance(value, str) else repr(value)
        raise UserError(f"{shown} is not a notification URL (SCHEME://..., as apprise "
                        "writes them: json://host/path, slack://..., mailto://...)")
    return value


def route(value: Any, at: object = None) -> Notify:
    """A route's `notify`: a list of URLs, or {urls: [...], on: [kind, ...]}."""
    if isinstance(value, list):
        value = {"urls": value}
    if not isinstance(value, dict):
        raise UserError("must be a list of URLs, or a mapping {urls: [URL, ...], on: [...]}")
    # YAML 1.1 reads a bare `on` key as true.
    value = {"on" if key is True else key: item for key, item in value.items()}
    problems = [f"{key}: unknown key (allowed: on, urls)"
                for key in sorted(set(map(str, value)) - {"urls", "on"})]
    urls, on = value.get("urls"), value.get("on", sorted(DEFAULT_ON))
    if not isinstance(urls, list) or not urls:
        problems.append("urls: must be a list of at least one URL")
        urls = []
    for url in urls:
        try:
            _url(url)
        except UserError as exc:
            problems.append(f"urls: {exc}")
    if not isinstance(on, list) or not on or not all(kind in KINDS for kind in on):
        problems.append(f"on: must be a list of {', '.join(KINDS)}")
        on = []
    if problems:
        raise RoutesError(problems)
    return Notify(tuple(dict.fromkeys(urls)), frozenset(on))


def urls_file(value: Any, at: object = None) -> tuple[str, ...]:
    """`--notify-file FILE`: one URL a line; blank lines and `#` comments are skipped."""
    if value is None:
        return ()
    url = _AS_PATH.fullmatch(str(value))  # a URL given by mistake (a Path keeps one slash)
    if url is not None:  # its token must not reach the error
        raise UserError(f"{mask('://'.join(url.groups()))} is a URL, not a file: write the "
                        "URLs into a file, one a line (every local user sees a command line)")
    path = Path(value)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})"
                        ) from None
    lines = [line.strip() for line in text.splitlines()]
    found = []
    for number, line in enumerate(lines, 1):
        if line and not line.startswith("#"):
            try:
                found.append(_url(line))
            except UserError as exc:
                raise UserError(f"{path}: line {number}: {exc}") from None
    return tuple(dict.fromkeys(found))


def server_urls(file_urls: tuple[str, ...], env: Mapping[str, str]) -> tuple[str, ...]:
    """The server-wide URLs: --notify-file's, then TFHOOK_NOTIFY_URLS's."""
    found = list(file_urls)
    for word in env.get(ENV, "").split():
        try:
            found.append(_url(word))
        except UserError as exc:
            raise UserError(f"{ENV}: {exc}") from None
    return tuple(dict.fromkeys(found))
