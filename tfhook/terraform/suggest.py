"""Suggested changes (#22): a constant the autoscaler outgrew, rewritten as a unified diff of
its .tf file that `git apply` takes in the Terraform directory; kept with the run (0600) for
`tfhook runs diff run-N`. tfhook never edits a .tf file itself."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfhook.errors import UserError
from tfhook.terraform.hclscan import Attribute

FOLDER = "suggestions"  # in the state directory, beside the history


def literal(value: Any) -> str | None:
    """`value` as an HCL literal, None for what has none here (lists, maps, null)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        # ${ and %{ would start a template: HCL escapes them by doubling the sign.
        return json.dumps(value, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")
    return None


def diff(root: Path, changes: Sequence[tuple[Attribute, str]]) -> str:
    """One diff of every file: each attribute's expression replaced by its new text.

    Attribute files are relative to `root`; the diff's paths are `a/FILE` and `b/FILE`.
    """
    by_file: dict[Path, list[tuple[Attribute, str]]] = {}
    for attribute, text in changes:
        by_file.setdefault(attribute.file, []).append((attribute, text))
    return "".join(_file_diff(root, file, edits) for file, edits in sorted(by_file.items()))


def _file_diff(root: Path, file: Path, edits: list[tuple[Attribute, str]]) -> str:
    old = (root / file).read_text(encoding="utf-8")
    new = old
    for attribute, text in sorted(edits, key=lambda edit: -edit[0].start):
        new = new[:attribute.start] + text + new[attribute.end:]
    name = file.as_posix()
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{name}", f"b/{name}")
    # A last line without its newline: git's marker, or `git apply` takes the patch as corrupt.
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def folder(history: Path | None) -> Path | None:
    """Where suggested changes are kept: a folder of the state directory `history`."""
    return None if history is None else history / FOLDER


def keep(where: Path, run_id: int, text: str) -> Path:
    """Write the suggested change of run `run_id` into the folder `where` (readable by
    its owner only)."""
    folder = where
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"run-{run_id}.diff"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def read(history: Path, run: str) -> str:
    """The suggested change of `run` (`run-3` or `3`); UserError when there is none."""
    number = run.removeprefix("run-")
    if not number.isdigit():
        raise UserError(f"{run!r}: expected a run id (run-3)")
    path = history / FOLDER / f"run-{int(number)}.diff"
    if not history.is_dir():
        raise UserError(f"{history} does not exist: no history, so no suggested change of "
                        f"run-{int(number)} (give the server's state directory)")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"run-{int(number)} suggested no change (nothing in {path.parent})"
                        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
