"""`tfhook notify test` (#23): a sample notification, sent now to the configured URLs."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from tfhook.config import notify
from tfhook.core.hooks import Hook
from tfhook.core.notices import mask
from tfhook.errors import UserError
from tfhook.observe import notify_send


def urls(hooks: tuple[Hook, ...], urls_file: Path | None, env: Mapping[str, str]
         ) -> tuple[str, ...]:
    """The URLs a server with these routes, this file of URLs and this environment sends to."""
    found = [url for hook in hooks if hook.notify is not None for url in hook.notify.urls]
    found += notify.server_urls(notify.urls_file(urls_file), env)
    if not found:
        raise UserError("no notification URL: give --routes FILE (its routes' notify) or "
                        f"--notify-file FILE, or set {notify.ENV}")
    return tuple(dict.fromkeys(found))


def send_sample(targets: tuple[str, ...]) -> list[tuple[str, bool]]:
    """Send a sample to each URL, now; (the URL masked, whether it was taken) for each."""
    notify_send.check(targets)
    sender = notify_send.Sender()
    host = socket.gethostname()
    sent = sender.send(notify_send.Message(
        targets, f"tfhook test notification from {host}",
        lambda: f"A test of tfhook's notifications from {host}: this URL works.", "info"))
    return [(mask(url), ok) for url, ok in zip(targets, sent, strict=True)]
