"""The optional commit of converge's variables file (#22): alone, on the current branch,
never pushed; a file with changes nobody committed is left alone, one git ignores is not
force-added. git runs through the process layer like every child."""

from __future__ import annotations

import signal

from tfhook.core.hooks import Limits
from tfhook.process import spawn as process
from tfhook.terraform.refresh import Target

# A hook of the repository's may take a while; git itself takes milliseconds.
LIMITS = Limits(timeout=60.0)


async def _git(target: Target, *args: str) -> tuple[str, process.Exit]:
    spec = process.Spec(argv=["git", *args], name="git", env=target.env, cwd=target.action.dir,
                        limits=LIMITS, stop_signal=signal.SIGTERM)
    output, exit_ = await process.capture(spec)
    return output.decode("utf-8", "replace"), exit_


async def _tree(target: Target) -> bool:
    output, exit_ = await _git(target, "rev-parse", "--is-inside-work-tree")
    return exit_.returncode == 0 and output.strip() == "true"


async def blocked(target: Target, name: str) -> str:
    """Why the variables file `name` must not be written: changes nobody committed ("" when
    it may be, or the directory is not in a git work tree)."""
    if not await _tree(target):
        return ""
    output, exit_ = await _git(target, "status", "--porcelain=v1", "--ignored", "--", name)
    status = output[:2].strip()
    if exit_.returncode != 0 or status in ("", "!!"):
        return ""
    return (f"{name} has changes nobody committed (git status {status}); tfhook does not "
            "overwrite them: commit or discard them")


async def commit(target: Target, name: str, message: str) -> str:
    """Commit the variables file `name` alone; the line that says what happened."""
    if not await _tree(target):
        return f"not committed: {target.action.dir} is not in a git work tree"
    _, ignored = await _git(target, "check-ignore", "-q", "--", name)
    if ignored.returncode == 0:
        return f"not committed: git ignores {name} (tfhook does not force-add it)"
    for args in (("add", "--", name), ("commit", "--only", "-q", "-m", message, "--", name)):
        output, exit_ = await _git(target, *args)
        if exit_.returncode != 0:
            said = output.strip().splitlines()
            why = exit_.stderr_tail(1) or (said[-1] if said else exit_.describe())
            return f"not committed: git {args[0]} failed: {why}"
    head, _ = await _git(target, "rev-parse", "--short", "HEAD")
    branch, _ = await _git(target, "rev-parse", "--abbrev-ref", "HEAD")
    return f"committed {name} on {branch.strip()} ({head.strip()}); not pushed"
