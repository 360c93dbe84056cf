"""`python -m tfhook.docs DIR` (make reference): write every generated reference page under DIR.

`--check` writes nothing and exits 1 naming each page that differs from what the code makes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tfhook.docs.pages import PAGES, differing


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [arg for arg in argv if arg != "--check"]
    root = Path(args[0] if args else "docs")
    if check:
        stale = differing(root)
        for path in stale:
            print(f"{path}: differs from the code; run `make reference`", file=sys.stderr)
        return 1 if stale else 0
    for relative, make in PAGES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
