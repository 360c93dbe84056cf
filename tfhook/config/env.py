"""The one place tfhook reads its process environment (config re-exports it)."""

from __future__ import annotations

import os
from collections.abc import Mapping

# What systemd gives tfhook alone (its notify socket and watchdog, #24): a hook or Terraform
# that saw them could tell systemd it is ready, or stopping, in tfhook's name.
SYSTEMD_ONLY = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
# tfhook's own settings from the environment; each reader takes its name from here.
HISTORY_URL = "TFHOOK_HISTORY_URL"  # the history's PostgreSQL URL when no flag gives one (#24)
HISTORY_PASSWORD = "TFHOOK_HISTORY_PASSWORD"  # its password, kept from every child
NOTIFY_URLS = "TFHOOK_NOTIFY_URLS"  # server-wide notification URLs (#23)
# They hold tokens and passwords that no hook, Terraform or provider needs: children never
# see them. (TFHOOK_TERRAFORM is passed on: it chooses the engine `tfhook terraform` runs
# in a hook. PGPASSWORD is passed on: Terraform's pg backend reads it.)
SETTINGS = (HISTORY_URL, HISTORY_PASSWORD, NOTIFY_URLS)


def environment() -> dict[str, str]:
    """A copy of the process environment."""
    return dict(os.environ)


def for_children(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment a child gets: `env` (None: tfhook's own) less SYSTEMD_ONLY and
    tfhook's own SETTINGS."""
    given = environment() if env is None else env
    return {name: value for name, value in given.items()
            if name not in SYSTEMD_ONLY and name not in SETTINGS}
