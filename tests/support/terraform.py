"""Helpers for the Terraform-mode tests: the demo module, real `tfhook serve --terraform
embedded` servers, a local HTTP "cloud" that answers slowly, and /proc checks."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from support.servers import HANG_GUARD, ROOT, ServerProcess, alive, children, launch, tfhook_command
from support.servers import REQUEST_CLASS as RPCS
from support.servers import wait_for as wait_for  # re-exported for the Terraform tests
from tfhook.v1 import handler_pb2

DEMO = ROOT / "examples" / "terraform" / "demo"
ELB_ID = "113300000001"
STATUS = handler_pb2.HandleResponse.Status


def tf_env(**extra: str) -> dict[str, str]:
    """Our environment for Terraform children, without the machine's dangling CLI config."""
    env = dict(os.environ)
    env.pop("TF_CLI_CONFIG_FILE", None)  # points at a missing file here: only adds warnings
    env.pop("TFHOOK_TERRAFORM", None)
    env["CHECKPOINT_DISABLE"] = "1"
    env.update(extra)
    return env


def tfhook_terraform(*args: str, cwd: Path, check: bool = True,
                     env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`tfhook terraform ARGS` with the embedded engine."""
    result = subprocess.run(
        tfhook_command("terraform", *args), cwd=cwd, text=True,
        capture_output=True, stdin=subprocess.DEVNULL, timeout=HANG_GUARD,
        env=env or tf_env(TFHOOK_TERRAFORM="embedded"), check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tfhook terraform {' '.join(args)} failed "
                             f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def init_and_apply(tf_dir: Path) -> None:
    """`init` and one normal `apply` (the import block only works outside refresh-only)."""
    tfhook_terraform(f"-chdir={tf_dir}", "init", "-input=false", "-no-color", cwd=tf_dir.parent)
    tfhook_terraform(f"-chdir={tf_dir}", "apply", "-auto-approve", "-input=false", "-no-color",
                     cwd=tf_dir.parent)


def copy_demo(dest: Path) -> Path:
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"))
    return dest


def write_module(dest: Path, files: dict[str, str]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text, encoding="utf-8")
    return dest


def simulate(tf_dir: Path, plan: int) -> None:
    """The autoscaler changes the ELB plan in the simulated cloud."""
    subprocess.run([sys.executable, str(tf_dir / "simulate-cloud-change"), str(plan)],
                   check=True, capture_output=True, timeout=HANG_GUARD)


def read_state(tf_dir: Path, name: str = "terraform.tfstate") -> dict[str, Any]:
    return json.loads((tf_dir / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def elb_plan(tf_dir: Path) -> Any:
    """The ELB plan the state holds; None while Terraform rewrites the file (it truncates
    and writes in place, so a poll can catch it empty or half written)."""
    try:
        return read_state(tf_dir)["outputs"]["elb_plan"]["value"]
    except (OSError, ValueError, KeyError):
        return None


def updated(resource_id: str = ELB_ID, kind: str = "elb", **fields: Any) -> dict[str, Any]:
    """Fields of a PostHandle(result=UPDATED) for one resource."""
    resource: dict[str, Any] = {"id": resource_id, **({"plan": 400} if kind == "elb" else {})}
    return {"source": "test", "resource_name": kind, "scaling_job_id": "job-1",
            "result": "UPDATED", "current": {kind: resource}, **fields}


# -- a real server ---------------------------------------------------------------------


class TfServer(ServerProcess):
    """A `tfhook serve --tf-dir ... --terraform embedded` subprocess and a channel to it."""

    close_timeout = HANG_GUARD

    def call(self, rpc: str, fields: dict[str, Any], timeout: float = HANG_GUARD
             ) -> list[tuple[str, str]]:
        """Call one RPC; the whole stream as (status name, log) pairs."""
        message = json_format.ParseDict(fields, RPCS[rpc]())
        return [(STATUS.Name(r.status), r.log)
                for r in getattr(self.stub, rpc)(message, timeout=timeout)]

    def call_error(self, rpc: str, fields: dict[str, Any], timeout: float = HANG_GUARD
                   ) -> grpc.RpcError:
        """Call one RPC that must end with a gRPC error; returns the error."""
        try:
            answers = self.call(rpc, fields, timeout)
        except grpc.RpcError as exc:
            return exc
        raise AssertionError(f"expected a gRPC error, got {answers}")

    def stream(self, rpc: str, fields: dict[str, Any], timeout: float = HANG_GUARD
               ) -> Streamed:
        """Start a call in a thread; its messages arrive in `.messages` as they come."""
        return Streamed(self, rpc, fields, timeout)

    def children(self) -> list[int]:
        return [pid for pid in children(self.proc.pid) if alive(pid)]


class Streamed:
    """One call running in a thread: `messages` fill up as they arrive, then `error`/`done`."""

    def __init__(self, server: TfServer, rpc: str, fields: dict[str, Any], timeout: float) -> None:
        self.messages: list[tuple[str, str]] = []
        self.error: grpc.RpcError | None = None
        self.finished = threading.Event()
        message = json_format.ParseDict(fields, RPCS[rpc]())
        self._call = getattr(server.stub, rpc)(message, timeout=timeout)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self.messages.append((STATUS.Name(response.status), response.log))
        except grpc.RpcError as exc:
            self.error = exc
        finally:
            self.finished.set()

    def statuses(self) -> list[str]:
        return [status for status, _ in self.messages]

    def result(self, timeout: float = HANG_GUARD) -> list[tuple[str, str]]:
        if not self.finished.wait(timeout):
            raise AssertionError(f"call did not finish in {timeout}s: {self.messages}")
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.messages

    def cancel(self) -> None:
        self._call.cancel()
        self.finished.wait(HANG_GUARD)
        self._thread.join(HANG_GUARD)


def serve_command(tf_dir: Path, sock: Path, *args: str) -> list[str]:
    return tfhook_command("serve", "--tf-dir", str(tf_dir), "--terraform", "embedded",
                          "--addr", f"unix:{sock}", *args)


def start_server(tf_dir: Path, workdir: Path, *args: str, engine: str = "embedded",
                 env: dict[str, str] | None = None, ready_timeout: float = HANG_GUARD
                 ) -> TfServer:
    """Start a server (cwd `workdir`, not the Terraform directory) and wait for SERVING."""
    sock = workdir / f"s-{uuid.uuid4().hex[:6]}.sock"
    command = serve_command(tf_dir, sock, *args)
    command[command.index("--terraform") + 1] = engine
    return launch(TfServer, command, cwd=workdir, target=f"unix:{sock}", env=env or tf_env(),
                  timeout=ready_timeout, sock=sock)


def serve_exit(tf_dir: Path, workdir: Path, *args: str, timeout: float = HANG_GUARD
               ) -> subprocess.CompletedProcess[str]:
    """Run `tfhook serve` expecting it to exit (a start-up error)."""
    try:
        return subprocess.run(serve_command(tf_dir, workdir / "never.sock", *args), cwd=workdir,
                              env=tf_env(), text=True, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("tfhook serve kept running; expected a start-up error") from None


@dataclass
class Recorder:
    """A `--terraform PATH` wrapper that exists only to observe what tfhook hands Terraform
    (argv and environment); it then execs the embedded engine, so Terraform is real."""

    path: Path
    records: Path

    @classmethod
    def create(cls, where: Path) -> Recorder:
        records = where / "records"
        records.mkdir()
        path = where / "terraform-recorder"
        path.write_text(
            "#!/bin/sh\n"
            f'r="{records}/$$"\n'
            'env > "$r.env"\n'
            'printf "%s\\n" "$@" > "$r.argv"\n'
            f'exec "{sys.executable}" -m tfhook.terraform.embedded "$@"\n',
            encoding="utf-8",
        )
        path.chmod(0o755)
        return cls(path, records)

    def invocations(self) -> list[tuple[list[str], dict[str, str]]]:
        found = []
        for argv_file in sorted(self.records.glob("*.argv")):
            env_file = argv_file.with_suffix(".env")
            env = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                       if "=" in line)
            found.append((argv_file.read_text().splitlines(), env))
        return found

    def refreshes(self) -> list[list[str]]:
        """The refreshes: each is a refresh-only plan (then, if it changes anything, an
        apply of that plan)."""
        return [argv for argv, _ in self.invocations()
                if argv[:1] == ["plan"] and "-refresh-only" in argv]


# -- a slow "cloud" on loopback -----------------------------------------------------------


REMOTE_STATE = {"version": 4, "terraform_version": "1.15.5", "serial": 1,
                "lineage": "00000000-0000-0000-0000-000000000001",
                "outputs": {"ready": {"value": True, "type": "bool"}}, "resources": []}


class SlowCloud:
    """A loopback HTTP state server for `terraform_remote_state` (backend "http"): each GET
    blocks until `open()` is called, so a refresh hangs exactly as long as a test wants."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.requests: queue.Queue[str] = queue.Queue()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.put(self.path)
                owner.gate.wait(HANG_GUARD)
                body = json.dumps(REMOTE_STATE).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client (a killed Terraform) went away

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.address = f"http://127.0.0.1:{self.httpd.server_address[1]}/state"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def open(self) -> None:
        self.gate.set()

    def tf(self, name: str = "slow") -> str:
        """A data source (and an output using it) that reads through this server."""
        return (f'data "terraform_remote_state" "{name}" {{\n  backend = "http"\n'
                f'  config = {{\n    address = "{self.address}"\n  }}\n}}\n\n'
                f'output "{name}_ready" {{\n  value = data.terraform_remote_state.{name}'
                f'.outputs.ready\n}}\n')

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(HANG_GUARD)


# -- processes -------------------------------------------------------------------------


def processes_in(directory: Path) -> Iterator[int]:
    """Live processes whose working directory is `directory` (Terraform runs there)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") == str(directory) and alive(int(entry.name)):
                yield int(entry.name)
        except OSError:
            continue
