"""`python -m tfhook`."""

from __future__ import annotations

from tfhook._entry import main

main()
