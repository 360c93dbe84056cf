"""What a route's `notify` key says (#23): where to send notifications, and about what.

URLs hold tokens (a Slack webhook's path, a password): they are shown only masked, through
`mask`, never whole: not in logs, `routes check`, `routes explain` or the history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# What a notification is about, in the order a route's lifecycle meets them.
KINDS = ("failing", "recovered", "held", "revert", "drift", "refused")
# A plain list of URLs means these: everything but drift (a reconcile finds drift often).
DEFAULT_ON = frozenset(KINDS) - {"drift"}
# A host as `mask` shows it: a dotted name or IPv4 address, localhost or [IPv6], and a port.
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|localhost|\[[0-9A-Fa-f:.]+\])"
                   r"(?::[0-9]{1,5})?")
INSTALL = "pip install 'tfhook[notify]'"  # what sends them: apprise, an optional extra


def mask(url: str) -> str:
    """A URL as it may be shown: its scheme and host, everything else masked
    (`json://***@127.0.0.1:8081/***`), so that an operator can tell which URL failed.

    Many apprise URLs carry a token where a host would be (`slack://TokenA/...`,
    `discord://ID/TOKEN`): a host is shown only when it reads as one (a dotted name or
    address, localhost, [IPv6]), else the whole rest is masked (`slack://***`)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.isalnum():
        return "***"
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    tail = rest[len(netloc):]
    _, at, host = netloc.rpartition("@")
    if not _HOST.fullmatch(host):
        return f"{scheme}://***"
    return f"{scheme}://{'***@' if at else ''}{host}{'/***' if tail else ''}"


@dataclass(frozen=True, slots=True)
class Notify:
    """A route's notification URLs and the kinds (KINDS) sent to them."""

    urls: tuple[str, ...] = field(repr=False)
    on: frozenset[str] = DEFAULT_ON

    def __repr__(self) -> str:
        return f"Notify(urls={self.masked()}, on={sorted(self.on)})"

    def masked(self) -> list[str]:
        return [mask(url) for url in self.urls]
