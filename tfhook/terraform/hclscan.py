"""A scan of Terraform's native syntax (.tf, .tfvars) for blocks and their attributes, with
the file, line and text of each attribute's expression (#22).

Not a parser of expressions: it finds where each one starts and ends (strings, templates,
heredocs, comments and brackets skipped as Terraform reads them), which is what telling
`var.x` from `var.x * 2` and rewriting a literal in place need. python-hcl2 parses more but
drops the line of an attribute (its `with_meta` gives blocks only, and none since 8.0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LABEL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|([A-Za-z_][A-Za-z0-9_-]*)')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\n")
_CLOSE = {"(": ")", "[": "]", "{": "}"}


class ScanError(ValueError):
    """The text is not Terraform's native syntax as far as the scan can tell."""


@dataclass(frozen=True, slots=True)
class Attribute:
    """`name = expression`: the expression's text and where it stands in its file."""

    name: str
    text: str
    file: Path
    line: int  # 1-based, of the expression's start
    start: int  # offsets of the expression in the file's text
    end: int


@dataclass(slots=True)
class Block:
    """`kind "label" ... { body }`."""

    kind: str
    labels: tuple[str, ...]
    file: Path
    line: int
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


def scan(text: str, file: Path) -> Block:
    """The body of one file, as a block of kind "" (its top-level attributes and blocks)."""
    body = Block("", (), file, 1)
    end = _Scanner(text, file).body(0, body, top=True)
    if end != len(text):
        raise ScanError(f"{file}:{_line(text, end)}: unexpected '{text[end]}'")
    return body


def scan_dir(where: Path) -> list[Block]:
    """Every top-level block of the directory's .tf files, files in name order; a file the
    scan cannot read raises ScanError."""
    found: list[Block] = []
    for path in sorted(where.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        found += scan(text, Path(path.name)).blocks
    return found


def find(blocks: list[Block], kind: str, *labels: str) -> Block | None:
    return next((b for b in blocks if b.kind == kind and b.labels == labels), None)


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


class _Scanner:
    def __init__(self, text: str, file: Path) -> None:
        self.text, self.file = text, file
        self.last = 0  # where the last expression scanned ends (before any comment)

    def fail(self, at: int, what: str) -> ScanError:
        return ScanError(f"{self.file}:{_line(self.text, at)}: {what}")

    def space(self, i: int, newlines: bool = True) -> int:
        """Past blanks and comments (and newlines, when `newlines`)."""
        text = self.text
        while i < len(text):
            c = text[i]
            if c in " \t\r" or (newlines and c == "\n"):
                i += 1
            elif c == "#" or text.startswith("//", i):
                i = text.find("\n", i)
                i = len(text) if i < 0 else i
            elif text.startswith("/*", i):
                close = text.find("*/", i + 2)
                if close < 0:
                    raise self.fail(i, "unterminated comment")
                i = close + 2
            else:
                break
        return i

    def body(self, i: int, block: Block, top: bool = False) -> int:
        """Attributes and blocks up to the closing brace (or the end, at the top)."""
        text = self.text
        while True:
            i = self.space(i)
            if i >= len(text) or text[i] == "}":
                if (i >= len(text)) != top:
                    raise self.fail(i, "unbalanced braces")
                return i
            name = _NAME.match(text, i)
            if name is None:
                raise self.fail(i, f"expected a name, found '{text[i]}'")
            i = self.space(name.end(), newlines=False)
            if text[i:i + 1] == "=" and text[i + 1:i + 2] != "=":
                i = self.attribute(name.group(), self.space(i + 1, newlines=False), block)
            else:
                i = self.block(name.group(), name.start(), i, block)

    def attribute(self, name: str, start: int, block: Block) -> int:
        end = self.expression(start)
        stop = self.last  # a comment after the expression is not part of it
        block.attributes[name] = Attribute(name, self.text[start:stop], self.file,
                                           _line(self.text, start), start, stop)
        return end

    def block(self, kind: str, at: int, i: int, parent: Block) -> int:
        labels = []
        while (label := _LABEL.match(self.text, i)) is not None:
            labels.append(label.group(1) if label.group(1) is not None else label.group(2))
            i = self.space(label.end(), newlines=False)
        if self.text[i:i + 1] != "{":
            raise self.fail(i, f"expected '=' or '{{' after {kind}")
        child = Block(kind, tuple(labels), self.file, _line(self.text, at))
        i = self.body(i + 1, child)
        parent.blocks.append(child)
        return i + 1

    def expression(self, i: int, closer: str = "") -> int:
        """The end of an expression: a newline or an unmatched `}` outside brackets, or
        `closer` (inside brackets, newlines are part of it)."""
        text, last = self.text, i
        while i < len(text):
            i = self.space(i, newlines=bool(closer))
            if i >= len(text):
                break
            c = text[i]
            if c == "\n" or (not closer and c == "}") or (closer and c == closer):
                self.last = last
                return i
            if c in _CLOSE:
                i = self.expression(i + 1, _CLOSE[c]) + 1
            elif c in ")]}":
                raise self.fail(i, f"unbalanced '{c}'")
            elif c == '"':
                i = self.string(i + 1)
            elif (heredoc := _HEREDOC.match(text, i)) is not None:
                i = self.heredoc(heredoc.end(), heredoc.group(1))
            else:
                i += 1
            last = i
        if closer:
            raise self.fail(i, f"missing '{closer}'")
        self.last = last
        return i

    def string(self, i: int) -> int:
        """Past the closing quote of a string that opened before `i`."""
        text = self.text
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
            elif c == '"':
                return i + 1
            elif c == "\n":
                break
            elif text.startswith(("$${", "%%{"), i):  # escaped: literal text
                i += 3
            elif text.startswith(("${", "%{"), i):
                i = self.expression(i + 2, "}") + 1
            else:
                i += 1
        raise self.fail(i, "unterminated string")

    def heredoc(self, i: int, marker: str) -> int:
        found = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.M).search(self.text, i)
        if found is None:
            raise self.fail(i, f"heredoc {marker} never ends")
        return found.end()
