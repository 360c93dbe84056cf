"""The admin service's client (#21): `tfhook runs held|approve|deny` and `state rollback --addr`.

It talks only to a unix socket file: a TCP or `unix-abstract:` address is refused before
dialing (the server refuses such callers too), saying how to reach the admin service. The
calling user's name goes with every call (metadata `tfhook-user`) for the history.
Errors: `Refused` when the server refused (exit 1), `UserError` for bad input or when
nothing answers (exit 2).
"""

from __future__ import annotations

import os
import pwd
import time
from collections.abc import Callable
from typing import Any

import grpc

from tfhook import controls
from tfhook.config import address
from tfhook.core.decisions import HeldRun, Refused
from tfhook.errors import UserError
from tfhook.v1 import admin_pb2, admin_pb2_grpc

USER_KEY = "tfhook-user"  # as tfhook.server.admin reads it
CHANGES_MAX = 80  # characters of a held run's changes in the table
# Answers that are bad input on our side (exit 2), or nothing answering at all.
_OURS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAVAILABLE,
         grpc.StatusCode.UNIMPLEMENTED)


def target(addr: str) -> str:
    """The gRPC target of `addr`, which must be a socket file; a UserError otherwise."""
    parsed = address.parse(addr)
    if parsed.path is None:
        kind = "an abstract socket" if address.abstract(parsed) else "a TCP address"
        raise UserError(f"--addr {addr} is {kind}: the admin service answers only on a unix "
                        "socket file (anyone may reach a port or an abstract name); give "
                        "the server's unix:PATH, or start it with --admin-addr unix:PATH "
                        "and give that")
    return parsed.target


def run_id(text: str) -> int:
    """A run id as `tfhook history` shows it (`run-12`) or its number alone."""
    number = text.strip().removeprefix("run-")
    if not number.isdigit() or int(number) < 1:
        raise UserError(f"{text!r} is not a run id (run-12, as tfhook runs held shows it)")
    return int(number)


def user() -> str:
    """The calling user's name, as this client reports it (its uid's, from the system)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no name (a container's): say the number
        return f"uid {os.getuid()}"


def held(addr: str, timeout: float) -> list[HeldRun]:
    """Every held run the server at `addr` keeps, oldest first."""
    answer = _call(addr, "Held", admin_pb2.HeldRequest(), timeout)
    return [HeldRun(run=r.run, route=r.route, directory=r.directory, instance=r.instance,
                    held_at=r.held_at, reason=r.reason, changes=tuple(r.changes))
            for r in answer.runs]


def approve(addr: str, run: int, timeout: float) -> str:
    """Approve held run `run`: the server applies exactly its plan; what it applied."""
    return str(_call(addr, "Approve", admin_pb2.DecideRequest(run=run), timeout).message)


def deny(addr: str, run: int, timeout: float) -> str:
    """Deny held run `run`: the server discards its plan."""
    return str(_call(addr, "Deny", admin_pb2.DecideRequest(run=run), timeout).message)


def rollback(addr: str, directory: str, run: int, apply: bool, timeout: float) -> str:
    """The difference to the state saved before `run` in `directory`, through the server's
    single flight; with `apply`, the server pushes that state back."""
    request = admin_pb2.RollbackRequest(directory=directory, run=run, apply=apply)
    return str(_call(addr, "Rollback", request, timeout).message)


def _call(addr: str, method: str, request: Any, timeout: float) -> Any:
    """Connect within `timeout` (else nothing answers), then call without a deadline: an
    approved apply takes as long as Terraform does."""
    dial = target(addr)
    with grpc.insecure_channel(dial) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise UserError(f"nothing answers at {addr} (is tfhook serving there?)") from None
        stub: Any = admin_pb2_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        try:
            return getattr(stub, method)(request, metadata=((USER_KEY, user()),))
        except grpc.RpcError as exc:
            raise _error(exc, addr) from None


def _error(exc: grpc.RpcError, addr: str) -> Exception:
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else "") or code.name
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return UserError(f"{addr} has no admin service (not tfhook, or a tfhook before "
                         "`tfhook runs`)")
    if code in _OURS:
        return UserError(f"{addr}: {details}")
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        return Refused(details)
    return Refused(f"{code.name}: {details}")  # it answered, and not with what was asked


def table(runs: list[HeldRun], now: Callable[[], float] = time.time) -> str:
    """The held runs as `tfhook runs held` prints them."""
    lines: list[tuple[str, ...]] = [("RUN", "ROUTE", "DIRECTORY", "REASON", "HELD FOR", "CHANGES")]
    for run in runs:
        changes = f"{len(run.changes)}: " + "; ".join(run.changes)
        if len(changes) > CHANGES_MAX:
            changes = changes[: CHANGES_MAX - 1] + "…"
        lines.append((f"run-{run.run}", run.route, run.directory, run.reason,
                      _age(now() - run.held_at), changes))
    lines = [tuple(controls.escape(cell) for cell in line) for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return "".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
                   + "  " + line[-1] + "\n" for line in lines)


def _age(seconds: float) -> str:
    minutes = max(int(seconds), 0) // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 48 else f"{hours // 24}d{hours % 24:02d}h"
