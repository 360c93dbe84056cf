"""What the `tfhook init` tests share: the command run in-process, a kind written to a folder, and
its hook served live."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from typer.testing import CliRunner

from support.servers import HANG_GUARD, load_vectors, vector_request, write_script
from tfhook.cli.app import app
from tfhook.v1 import handler_pb2, handler_pb2_grpc

# A server that is still starting must not push the client into gRPC's 1 s reconnect backoff.
FAST_RETRY = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 200)]

runner = CliRunner()


def golden(name: str) -> tuple[str, Any]:
    """(rpc, request) of one golden vector, decoded with tfhook's generated classes."""
    vector = next(v for v in load_vectors() if v["name"] == name)
    return vector["rpc"], vector_request(vector)


def install_tfhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `tfhook` on PATH outside the checkout, as an installed one would be."""
    bin_dir = tmp_path / "installed-bin"
    bin_dir.mkdir()
    tfhook = write_script(bin_dir / "tfhook", f'exec {sys.executable} -m tfhook "$@"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return tfhook


def init(directory: Path, *args: str) -> Any:
    return runner.invoke(app, ["init", str(directory), *args])


def scaffolded(tmp_path: Path, kind: str, *args: str) -> Path:
    directory = tmp_path / kind
    result = init(directory, "--kind", kind, *args)
    assert result.exit_code == 0, result.output
    return directory


@contextlib.contextmanager
def serving(hook: Path, handler_type: str, env: dict[str, str] | None = None
            ) -> Iterator[Any]:
    """Run `tfhook serve` on a socket beside the hook; yield call(rpc, request)."""
    sock = hook.parent / "s.sock"
    log = hook.parent / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tfhook", "serve", "--executable-path", str(hook),
             "--handler-type", handler_type, "--payload-argv", "none", "--addr", f"unix:{sock}"],
            cwd=hook.parent, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        with grpc.insecure_channel(f"unix:{sock}", FAST_RETRY) as channel:
            grpc.channel_ready_future(channel).result(timeout=HANG_GUARD)
            stub = handler_pb2_grpc.HandleServiceStub(channel)

            def call(rpc: str, request: Any) -> list[tuple[str, str]]:
                answers = getattr(stub, rpc)(request, timeout=HANG_GUARD)
                return [(handler_pb2.HandleResponse.Status.Name(a.status), a.log) for a in answers]

            yield call
    finally:
        proc.terminate()
        if proc.wait(timeout=HANG_GUARD) not in (0, -15):
            pytest.fail(f"tfhook serve exited with {proc.returncode}:\n{log.read_text()}")
