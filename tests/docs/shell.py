"""The `tfhook ...` command lines the documentation shows in its ```sh blocks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_RUN = "# not run"  # a block whose first line says so holds system commands: skipped
# Lines run beside the `tfhook` ones: the demo module's own script (it changes the "cloud").
RUN = ("tfhook", "python3 infra/")
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def documents() -> list[Path]:
    """README.md and every written page of the site (the generated reference is not)."""
    pages = [p for p in sorted((ROOT / "docs").rglob("*.md")) if "reference" not in p.parts]
    return [ROOT / "README.md", *pages]


def commands(path: Path) -> list[str]:
    """Each `tfhook` command line (and RUN's others) in the file's sh blocks, continuations
    joined."""
    found = []
    for block in _BLOCK.findall(path.read_text()):
        if block.startswith(NOT_RUN):
            continue
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith(RUN):
                found.append(" ".join(line.split()))
    return found
