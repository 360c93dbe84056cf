"""`tfhook terraform ARGS`: the chosen engine (TFHOOK_TERRAFORM) as a plain Terraform CLI.

Implemented here once. Hook scripts run it once per event, so the console entry (entry.py)
calls it before any command line library is imported, and it loads only what choosing and
starting the engine needs: no typer, gRPC, logging, shutil or typing (#9). The typer app's
`terraform` command only delegates here.
"""

from __future__ import annotations

import os
import sys

from tfhook.config.env import environment
from tfhook.errors import TfhookError
from tfhook.terraform import locate


def main(args: list[str]) -> int:
    """Run the chosen engine with `args`; returns its exit status (an exec'd engine never
    returns) or 2 with one error line when no engine can be chosen."""
    env = environment()
    try:
        path, name = locate.find(env.get("TFHOOK_TERRAFORM", "auto"), env, "TFHOOK_TERRAFORM")
    except TfhookError as exc:  # the same one line as every other command's errors
        text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        sys.stderr.write(f"tfhook: error: {text}\n")
        return 2
    if name == locate.EMBEDDED:
        from tfhook.terraform import embedded

        return embedded.main(args)
    return _exec_replace([path, *args], env)


def _exec_replace(argv: list[str], env: dict[str, str]) -> int:
    """Become argv (the chosen terraform or tofu); returns only when it cannot start.

    Not a child process, so not the process layer's: this path must not load the event loop
    and logging that the process layer needs (#9).
    """
    try:
        os.execve(argv[0], argv, env)
    except OSError as exc:
        sys.stderr.write(f"tfhook: error: cannot run {argv[0]}: {exc.strerror or exc}\n")
    return 127
