"""Fixtures: a private $HOME, golden vectors, and real `tfhook serve` processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import VECTORS, Served, load_vectors, start_server


@pytest.fixture(autouse=True)
def dont_write_to_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point $HOME at a temp dir (as pre-commit's conftest does); subprocesses inherit it."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture(scope="session")
def vectors() -> list[dict[str, Any]]:
    if not VECTORS.is_file():
        pytest.fail(f"golden vectors not found at {VECTORS} (shared/ must sit beside the repo)")
    return load_vectors()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `tfhook serve` subprocesses; each is stopped (SIGTERM) at teardown.

    Call as `serve("--executable-path", str(hook), addr=..., target=..., cwd=...)`;
    addr defaults to a unix socket in tmp_path.
    """
    started: list[Served] = []

    def _serve(
        *args: str,
        addr: str | None = None,
        target: str | None = None,
        cwd: Path = tmp_path,
        env: dict[str, str] | None = None,
    ) -> Served:
        if addr is None:
            addr = f"unix:{tmp_path / f's{len(started)}.sock'}"
        served = start_server(args, cwd=cwd, addr=addr, target=target, env=env)
        started.append(served)
        return served

    yield _serve
    for served in started:
        served.close()
