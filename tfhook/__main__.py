"""`python -m tfhook`."""

from __future__ import annotations

from tfhook.cli.entry import main

main()
