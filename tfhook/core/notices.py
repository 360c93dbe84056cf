"""What a route's `notify` key says (#23): where to send notifications, and about what.

URLs hold tokens (a Slack webhook's path, a password): they are shown only masked, through
`mask`, never whole: not in logs, `routes check`, `routes explain` or the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What a notification is about, in the order a route's lifecycle meets them.
KINDS = ("failing", "recovered", "held", "revert", "drift", "refused")
# A plain list of URLs means these: everything but drift (a reconcile finds drift often).
DEFAULT_ON = frozenset(KINDS) - {"drift"}
INSTALL = "pip install 'tfhook[notify]'"  # what sends them: apprise, an optional extra


def mask(url: str) -> str:
    """A URL as it may be shown: its scheme only (`json://***`)."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://***" if sep and scheme.isalnum() else "***"


@dataclass(frozen=True, slots=True)
class Notify:
    """A route's notification URLs and the kinds (KINDS) sent to them."""

    urls: tuple[str, ...] = field(repr=False)
    on: frozenset[str] = DEFAULT_ON

    def __repr__(self) -> str:
        return f"Notify(urls={self.masked()}, on={sorted(self.on)})"

    def masked(self) -> list[str]:
        return [mask(url) for url in self.urls]
