"""Sending notifications off the call's path (#23): a bounded queue and one worker thread.

apprise's `notify` blocks (an HTTP request, a mail server), so no call waits for it: the
observer only queues a message. A full queue drops its oldest message; a failed URL is
logged once (masked) until it works again; each outcome is counted (sent, failed, dropped).
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from tfhook.core.notices import INSTALL, mask
from tfhook.errors import UserError

log = structlog.get_logger("tfhook.notify")
QUEUE_SIZE = 100  # messages waiting to be sent; more: the oldest is dropped
# apprise's own log lines may name a URL's path (where tokens live): tfhook logs masked URLs.
logging.getLogger("apprise").disabled = True


@dataclass(frozen=True, slots=True)
class Message:
    """One notification: where it goes, its title, and its body (made on the worker: it
    scrubs request secrets, which takes a while for a large request)."""

    urls: tuple[str, ...]
    title: str
    body: Callable[[], str]
    kind: str = "info"  # apprise's notify type: info, success, warning, failure


def no_count(outcome: str) -> None:
    return None


def load() -> Any:
    """apprise, or UserError naming the extra to install."""
    try:
        import apprise
    except ImportError:
        raise UserError("notification URLs are configured but apprise is not installed: "
                        f"{INSTALL}") from None
    return apprise


def check(urls: Iterable[str]) -> None:
    """Each URL must be one apprise knows (a UserError names the first that is not, masked)."""
    apprise = load()
    for url in urls:
        if not apprise.Apprise().add(url):
            raise UserError(f"notification URL {mask(url)} is not one apprise can send to "
                            "(see https://github.com/caronc/apprise/wiki)")


class Sender:
    """The queue and its worker thread (started with the first message)."""

    def __init__(self, count: Callable[[str], None] = no_count, size: int = QUEUE_SIZE) -> None:
        self.count = count
        self._queue: collections.deque[Message] = collections.deque()
        self._size = size
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()  # URLs whose failure is logged, until one works

    def put(self, message: Message) -> None:
        """Queue `message`, dropping the oldest when full; never blocks."""
        with self._ready:
            if len(self._queue) >= self._size:
                self._queue.popleft()
                self.count("dropped")
            self._queue.append(message)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="tfhook-notify",
                                                daemon=True)
                self._thread.start()
            self._ready.notify()

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                message = self._queue.popleft()
            self.send(message)

    def send(self, message: Message) -> list[bool]:
        """Send `message` to each of its URLs now (blocking); whether each got it."""
        try:
            body = message.body()
        except Exception:
            log.exception("notification not sent: its text could not be made")
            self.count("failed")
            return [False] * len(message.urls)
        return [self._one(url, message.title, body, message.kind) for url in message.urls]

    def _one(self, url: str, title: str, body: str, kind: str) -> bool:
        try:
            apprise = load()
            sender = apprise.Apprise()
            sent = bool(sender.add(url) and sender.notify(body=body, title=title,
                                                          notify_type=kind))
        except Exception as exc:  # a plugin's own error: counted and logged like a refusal
            sent, why = False, type(exc).__name__
        else:
            why = "the service did not take it (or did not answer)"
        self.count("sent" if sent else "failed")
        if sent:
            self._failing.discard(url)
        elif url not in self._failing:
            self._failing.add(url)
            log.warning("notification failed; not logged again for this URL until it works",
                        url=mask(url), why=why)
        return sent
