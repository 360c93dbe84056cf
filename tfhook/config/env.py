"""The one place tfhook reads its process environment (config re-exports it)."""

from __future__ import annotations

import os


def environment() -> dict[str, str]:
    """A copy of the process environment."""
    return dict(os.environ)
