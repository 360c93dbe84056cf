"""The reference pages of the documentation, generated from the code (`python -m tfhook.docs`).

Nothing here is imported by the server or the command line: it reads them.
"""

from __future__ import annotations

NOTE = ("Generated from {source} by `make reference` (`python -m tfhook.docs`); do not edit: "
        "a test fails when it differs.")
