"""The one place tfhook reads its process environment (config re-exports it)."""

from __future__ import annotations

import os
from collections.abc import Mapping

# What systemd gives tfhook alone (its notify socket and watchdog, #24): a hook or Terraform
# that saw them could tell systemd it is ready, or stopping, in tfhook's name.
SYSTEMD_ONLY = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def environment() -> dict[str, str]:
    """A copy of the process environment."""
    return dict(os.environ)


def for_children(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment a child gets: `env` (None: tfhook's own) less SYSTEMD_ONLY."""
    given = environment() if env is None else env
    return {name: value for name, value in given.items() if name not in SYSTEMD_ONLY}
