"""Whether this server notifies (#23), and its notifier when it does.

With no URL configured (no route's `notify`, no file of URLs, no TFHOOK_NOTIFY_URLS),
nothing is imported and no observer added: calls cost what they did before.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from tfhook.config import notify
from tfhook.config.settings import Settings
from tfhook.core.hooks import Hook
from tfhook.core.observer import Observer

if TYPE_CHECKING:
    from tfhook.observe.metrics import MetricsSink


def observers(settings: Settings, metrics: MetricsSink | None,
              hooks: Callable[[], Iterable[Hook]]) -> list[Observer]:
    """The notifier, in a list of one; an empty list when nothing is configured. A URL
    apprise cannot send to, or apprise missing, is a UserError (exit 2 at start)."""
    urls = notify.server_urls(settings.notify_urls, settings.env)
    routed = [url for hook in settings.hooks if hook.notify is not None
              for url in hook.notify.urls]
    if not urls and not routed:
        return []
    from tfhook.observe import notify_send
    from tfhook.observe.notify import Notifier

    notify_send.check([*urls, *routed])
    count = notify_send.no_count if metrics is None else (
        lambda outcome: metrics.notifications.labels(outcome=outcome).inc())
    instance = f"{socket.gethostname()} ({settings.addr})"
    return [Notifier(notify_send.Sender(count), urls, hooks, instance)]
