"""Reading a YAML file an operator gives (the routes file, --config), within bounds.

A YAML anchor used nine times in each of nine nested lists stands for 9^9 values: PyYAML
builds it at once (the lists are shared), but every walk over it then takes minutes and
gigabytes, and a server reloading such a file stopped answering. So a file may hold at most
MAX_BYTES and stand for at most MAX_VALUES values, aliases counted each time they are used.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from tfhook.errors import UserError

MAX_BYTES = 1024 * 1024
MAX_VALUES = 100_000


def read(path: Path) -> Any:
    """The decoded document of a YAML file (None when it is empty).

    Raises:
        UserError: one line saying why: cannot be read, not a regular file, too large, not
            valid YAML, or standing for more than MAX_VALUES values.
    """
    import yaml  # only with --routes or --config: it is a noticeable part of start-up (#9)

    try:
        data: Any = yaml.safe_load(_text(path))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError(problem(path, exc)) from None
    if _exceeds(data, MAX_VALUES):
        raise UserError(f"{path}: stands for more than {MAX_VALUES:,} values (aliases "
                        "counted each time they are used); write it out without aliases")
    return data


def _text(path: Path) -> str:
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):  # a FIFO would block, /dev/zero never end
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise UserError(f"{path}: cannot read: {what}")
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise UserError(f"{path}: too large (more than {MAX_BYTES // 1024 // 1024} MiB)")
    return data.decode("utf-8")


def _exceeds(data: Any, limit: int) -> bool:
    """Whether the document holds more than `limit` values (keys and items included),
    counting a shared list or mapping each time it appears; stops once past the limit."""
    pending = [data]
    count = 0
    while pending:
        value = pending.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def problem(path: Path, exc: Exception) -> str:
    """`file.yaml:3:5: not valid YAML: what PyYAML found there (and what it was parsing)`."""
    import yaml

    if isinstance(exc, RecursionError):  # PyYAML composes nested nodes recursively
        return f"{path}: not valid YAML: nested too deeply (lists or mappings inside each other)"
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError) and mark is not None:
        context = f" ({exc.context})" if exc.context else ""
        return f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {exc.problem}{context}"
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{path}: not valid YAML: {first}"
