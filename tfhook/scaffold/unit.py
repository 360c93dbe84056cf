"""What the systemd unit `tfhook init` writes needs beyond the hook (#24): where the history
goes, which paths stay writable under ProtectSystem=strict, and whether ProtectHome can hold."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from tfhook.config import options

STATE_DIRECTORY = "tfhook"  # StateDirectory=: /var/lib/tfhook, made and owned for User=
CACHE_DIRECTORY = "tfhook"  # CacheDirectory=: /var/cache/tfhook, Terraform's plugin cache
USER = "tfhook"
_HOMES = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))
_TMPS = (PurePosixPath("/tmp"), PurePosixPath("/var/tmp"))


def state_args() -> list[str]:
    """serve's flags in the unit that take the state directory systemd makes (the history's)."""
    return [text for option in options.in_systemd("StateDirectory")
            for text in (option.cli, f"/var/lib/{STATE_DIRECTORY}")]


def context(tfhook_argv: list[str], directory: str, terraform_dir: str | None) -> dict[str, Any]:
    """The unit's user, state and cache directories, writable paths and ProtectHome.

    Args:
        tfhook_argv: how the unit runs tfhook (a path, or `tfhook` from systemd's PATH).
        directory: where init writes (the unit's WorkingDirectory=).
        terraform_dir: the Terraform directory, when the kind has one.

    Returns:
        The template's `user`, `state_directory`, `cache_directory`, `writable` (the
        ReadWritePaths=, each once), `protect_home` (False, with `home_paths` saying why,
        when tfhook or a directory Terraform needs lives under a home directory) and
        `private_tmp` (False, with `tmp_paths`, when one lives under /tmp).
    """
    writable = [directory]
    if terraform_dir is not None and not PurePosixPath(terraform_dir).is_relative_to(directory):
        writable.append(terraform_dir)
    needed = [*writable, *(tfhook_argv[:1] if tfhook_argv[0].startswith("/") else [])]
    under_home, under_tmp = _under(needed, _HOMES), _under(needed, _TMPS)
    return {"user": USER, "state_directory": STATE_DIRECTORY,
            "cache_directory": CACHE_DIRECTORY, "writable": writable,
            "protect_home": not under_home, "home_paths": under_home,
            "private_tmp": not under_tmp, "tmp_paths": under_tmp}


def _under(paths: list[str], tops: tuple[PurePosixPath, ...]) -> list[str]:
    return [path for path in paths if any(PurePosixPath(path).is_relative_to(top)
                                          for top in tops)]
