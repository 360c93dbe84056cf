"""An optional watcher of every child the process door starts: tracing sets one (#23).

Off (None) unless the server enables tracing: then `spawn.Child` asks it, per child, for a
`Watch` that may add to the child's environment (TRACEPARENT) and hears how the child ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from tfhook.process.spec import Spec


class Watch(Protocol):
    """One child, watched from just before it starts until it is reaped."""

    def environment(self, env: Mapping[str, str] | None) -> Mapping[str, str] | None:
        """The environment to start the child with (`env`, None: ours, plus what it adds)."""

    def ended(self, returncode: int | None) -> None:
        """The child was reaped (its exit status), or could not start (None)."""


Watcher = Callable[[Spec], Watch | None]  # None: this child is not watched
watcher: Watcher | None = None


def watch(new: Watcher | None) -> Watcher | None:
    """Set the watcher of every child from now on (None: none); returns the one before."""
    global watcher
    before, watcher = watcher, new
    return before
