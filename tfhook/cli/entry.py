"""The console entry point: `tfhook terraform` without the rest, everything else via cli.

`tfhook terraform ARGS` is what hook scripts run once per event, so it loads only what
choosing and starting the engine needs (no typer, gRPC or logging). (#9)
"""

from __future__ import annotations

import os
import sys

from tfhook.cli import terraform

TYPE_CHECKING = False  # typing costs `tfhook terraform` more than the rest of its start-up
if TYPE_CHECKING:
    from typing import TextIO


def main() -> None:
    """`tfhook ...`: dispatch before the command line library is imported."""
    try:
        if sys.argv[1:2] == ["terraform"]:
            raise SystemExit(terraform.main(sys.argv[2:]))
        _import_without(("ssl",), "asyncio")  # first: structlog imports asyncio
        _import_without(("rich", "colorama"), "structlog")
        from tfhook.cli.app import main as cli_main

        cli_main()
    finally:
        _flush_or_discard(sys.stdout)
        _flush_or_discard(sys.stderr)


def _flush_or_discard(stream: TextIO | None) -> None:
    """Flush a standard stream now; if its reader is gone, point its fd at /dev/null.

    Python flushes stdout and stderr once more as it exits, and a failure there turns the
    exit status into 120. A closed log pipe or journal stream loses lines (logs.py lets it)
    but must not change how tfhook exits: this is the fix CPython's docs give for SIGPIPE.
    """
    if stream is None:
        return
    try:
        stream.flush()
    except ValueError:  # closed: Python's last flush skips it too
        return
    except OSError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
            stream.flush()  # what is still buffered goes to /dev/null, not to the exit status
        except (OSError, ValueError):
            return


def _import_without(unused: tuple[str, ...], module: str) -> None:
    """Import `module` as if `unused` were not installed, for `module`'s optional use of them.

    structlog imports rich (installed for typer) and colorama (with ctypes) only for its
    console renderer, and asyncio imports ssl only for TLS streams: tfhook uses neither
    (gRPC has its own TLS), and together they are a large part of its start-up time and
    idle memory. Later imports of `unused` work as usual.
    """
    if module in sys.modules or any(name in sys.modules for name in unused):
        return
    for name in unused:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        __import__(module)
    finally:
        for name in unused:
            del sys.modules[name]
