"""Which generator writes which reference page, and the check that the committed ones agree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tfhook.config import options
from tfhook.docs import cli, logevents, tables

# Page (relative to docs/) -> the function that writes it.
PAGES: dict[str, Callable[[], str]] = {
    "options.md": options.reference,
    "reference/cli.md": cli.page,
    "reference/metrics.md": tables.metrics_page,
    "reference/environment.md": tables.environment_page,
    "reference/history.md": tables.history_page,
    "reference/logs.md": logevents.page,
}


def differing(root: Path) -> list[Path]:
    """The pages under `root` whose text is not what the code generates now."""
    stale = []
    for relative, make in PAGES.items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != make():
            stale.append(path)
    return stale
