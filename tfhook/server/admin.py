"""The admin service (#21): held runs, approve, deny and rollback, for operators only.

Only a caller on a unix socket file may decide: whoever reaches a TCP port or an abstract
socket could be anyone, and the Core's handler API has no authentication to lean on. gRPC
names every unix peer `unix:` (a socket file and an abstract one alike), so the service is
registered only on a server whose every listener is a socket file (`Endpoint`): the server
itself when `--addr` is one, else a second server on a socket file of its own (see lifecycle). Each
call also checks its peer, so that a TCP caller is refused even if that ever changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from tfhook import controls
from tfhook.core.decisions import Decisions, HeldRun, Who
from tfhook.errors import TfhookError, UserError
from tfhook.server import wire
from tfhook.server.listen import Listener
from tfhook.v1 import admin_pb2, admin_pb2_grpc

SERVICE = admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name
USER_KEY = "tfhook-user"  # the metadata that names the calling user (ops/admin sends it)
USER_MAX = 256  # characters of a user name
Context = grpc.aio.ServicerContext[Any, Any]


class AdminService(admin_pb2_grpc.AdminServicer):
    """tfhook.admin.v1.Admin over a `Decisions` (the runners' Terraform directories)."""

    def __init__(self, decisions: Decisions) -> None:
        self._decisions = decisions

    async def Held(self, request: admin_pb2.HeldRequest, context: Context
                   ) -> admin_pb2.HeldResponse:
        await _who(context)
        return admin_pb2.HeldResponse(runs=[_held(held) for held in self._decisions.held()])

    async def Approve(self, request: admin_pb2.DecideRequest, context: Context
                      ) -> admin_pb2.DecideResponse:
        who, run = await _who(context), await _run(request.run, context)
        return await _answer(context, self._decisions.approve(run, who))

    async def Deny(self, request: admin_pb2.DecideRequest, context: Context
                   ) -> admin_pb2.DecideResponse:
        who, run = await _who(context), await _run(request.run, context)
        return await _answer(context, self._decisions.deny(run, who))

    async def Rollback(self, request: admin_pb2.RollbackRequest, context: Context
                       ) -> admin_pb2.DecideResponse:
        who, run = await _who(context), await _run(request.run, context)
        if not request.directory.strip():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "say which Terraform directory to roll back")
        return await _answer(context, self._decisions.rollback(
            request.directory, run, who, apply=request.apply))


async def _who(context: Context) -> Who:
    """The caller, once it is known to be on a socket file; else the call is refused."""
    peer = context.peer()
    if not peer.startswith("unix:"):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                            f"the admin service answers only on the server's unix socket, "
                            f"not to {peer}: anyone who reaches a TCP port could decide")
    metadata = dict(context.invocation_metadata() or ())
    user = metadata.get(USER_KEY, "")
    if not isinstance(user, str) or not user.strip():
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                            f"say who decides: the `{USER_KEY}` metadata names the calling "
                            "user (tfhook runs sends it)")
    if len(user) > USER_MAX or controls.escape(user) != user:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                            f"the `{USER_KEY}` metadata is not a user name (control "
                            f"characters, or over {USER_MAX} characters)")
    return Who(user=user, peer=peer)


async def _run(run: int, context: Context) -> int:
    if run <= 0:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                            f"run-{run} is not a run id (they start at run-1)")
    return run


async def _answer(context: Context, work: Awaitable[str]) -> admin_pb2.DecideResponse:
    """The decision's message; its errors become statuses (Refused: FAILED_PRECONDITION)."""
    try:
        return admin_pb2.DecideResponse(message=await work)
    except TfhookError as exc:
        await context.abort(wire.status_for(exc), str(exc))


def _held(held: HeldRun) -> admin_pb2.HeldRun:
    return admin_pb2.HeldRun(run=held.run, route=held.route, directory=held.directory,
                             instance=held.instance, held_at=held.held_at, reason=held.reason,
                             changes=list(held.changes))


class Endpoint:
    """Where the admin service answers: on the server itself when its address is a socket
    file, else on a server of its own bound to `own` (a socket file), or nowhere."""

    def __init__(self, service: AdminService, main: Listener, own: Listener | None) -> None:
        self._service, self._main, self._own = service, main, own
        self._server: grpc.aio.Server | None = None

    def attach(self, server: grpc.aio.Server) -> None:
        """Serve the admin service on the main `server` (not started yet) if it may."""
        if self._main.address.path is None:
            return  # TCP or abstract: its callers could be anyone (start serves `own`)
        if self._own is not None:
            raise UserError(f"{self._own.flag}: the admin service answers on {self._main.flag} "
                            f"{self._main.addr} already (a socket file); leave it out")
        _register(self._service, server)

    async def start(self, options: list[tuple[str, int]], health: Any) -> None:
        """Start the admin service's own server, when it has one (health served there too)."""
        if self._own is None or self._main.address.path is not None:
            return
        server = grpc.aio.server(options=options)
        _register(self._service, server)
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        self._own.bind(server)
        await server.start()
        self._server = server

    async def stop(self, grace: float) -> None:
        """Stop its own server (calls get `grace`) and remove its socket; again: nothing."""
        server, self._server = self._server, None
        if server is not None:
            await asyncio.shield(server.stop(grace))
            if self._own is not None:
                self._own.remove()

    @property
    def where(self) -> str:
        """Where `tfhook runs` reaches this server (`off`: nowhere), for the start-up line."""
        found = self._own or self._main
        return f"unix:{found.address.path}" if found.address.path is not None else "off"


def _register(service: AdminService, server: grpc.aio.Server) -> None:
    admin_pb2_grpc.add_AdminServicer_to_server(service, server)  # type: ignore[no-untyped-call]
