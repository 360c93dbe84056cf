"""Programs the tests run that `make tools` unpacks into a private folder (tools.sh).

The folder is `.tools/` at the repository's root, or $TFHOOK_TOOLS. Its programs come first;
a program installed on the host (PATH) is the fallback. Programs from the folder run with its
library folders on LD_LIBRARY_PATH (libraries the host lacked were unpacked there).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
HINT = "`make tools` unpacks it into .tools/ where apt-get works"
# Read once, when the tests start: each test then runs without any TFHOOK_* variable of the
# developer's shell or the Makefile (conftest), so no server or hook it starts sees them.
GIVEN = os.environ.get("TFHOOK_TOOLS")


def folder() -> Path:
    """The private tools folder (it may not exist)."""
    return Path(GIVEN or REPOSITORY / ".tools").resolve()


def _root() -> Path:
    return folder() / "root"


def newest(pattern: str) -> Path | None:
    """The match of `pattern` under the folder with the highest version segment, e.g. a
    `usr/lib/postgresql/*/bin/pg_ctl`."""
    def version(path: Path) -> int:
        return next((int(part) for part in path.parts if part.isdigit()), 0)
    found = sorted(_root().glob(pattern), key=version)
    return found[-1] if found else None


def which(name: str) -> str | None:
    """The private `name` if unpacked, else the one on PATH, else None."""
    private = _root() / "usr" / "bin" / name
    if private.is_file() and os.access(private, os.X_OK):
        return str(private)
    return shutil.which(name)


def env() -> dict[str, str]:
    """os.environ with the folder's library folders first on LD_LIBRARY_PATH."""
    libraries = [str(path) for path in sorted(_root().glob("usr/lib/*-linux-gnu"))
                 + sorted(_root().glob("lib/*-linux-gnu")) if path.is_dir()]
    environ = dict(os.environ)
    if libraries:
        before = environ.get("LD_LIBRARY_PATH")
        environ["LD_LIBRARY_PATH"] = os.pathsep.join([*libraries, *([before] if before else [])])
    return environ
