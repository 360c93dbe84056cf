"""Operator commands: `history`, `send` and `check` (registered on the main typer app)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tfhook.cli import helptext, sources
from tfhook.cli.exits import guard
from tfhook.config import options
from tfhook.config import settings as config
from tfhook.core import names
from tfhook.core.hooks import RESOURCE_TYPES
from tfhook.core.model import Phase
from tfhook.errors import UserError

_STATE = options.BY_KEY["state_dir"]  # serve's: the same flag, help and metavar
StateDir = Annotated[Path | None, typer.Option(_STATE.cli, metavar=_STATE.metavar,
                                               help=_STATE.help)]
Addr = Annotated[str, typer.Option(help="The handler: unix:PATH, unix-abstract:NAME or HOST:PORT."
                                   )]
ResourceType = Annotated[str | None, typer.Option(
    help=f"The resource's type: {', '.join(RESOURCE_TYPES)}.", metavar="TYPE")]
ResourceName = Annotated[str | None, typer.Option(help="The request's resource_name.",
                                                  metavar="NAME")]
# The ids target_from_event refreshes: the resource's own, and its parent's.
ResourceId = Annotated[str | None, typer.Option(help="The resource's id (needs its type).")]
ParentId = Annotated[str | None, typer.Option(
    help="Its parent's id (a server, server_group_instance or elb has one).")]
ParentType = Annotated[str | None, typer.Option(help="The parent's type: elb, gslb, dns, "
                                                "load_balancer (default: as in the JSON).")]
# Room for a run in flight and the call's own under serve's default --timeout (15m).
SEND_TIMEOUT = "30m"
SendTimeout = Annotated[str, typer.Option(help=(
    "How long the whole call may take, health check (at most 5s of it) included; then it is "
    "cancelled (exit 1)."))]
history_app = typer.Typer(help="What tfhook ran: recorded calls and runs.", add_completion=False,
                          cls=helptext.Group)


def register(app: typer.Typer) -> None:
    """Add `history`, `send` and `check` to `app`."""
    app.add_typer(history_app, name="history")
    app.command(cls=helptext.Command)(send)
    app.command(cls=helptext.Command)(check)


def state_home(state_dir: Path | None) -> Path:
    """The state directory given, else the default one."""
    return state_dir or config.state_dir()


@history_app.callback(invoke_without_command=True)
def history(
    ctx: typer.Context,
    state_dir: StateDir = None,
    history_url: sources.HistoryUrl = None,
    instance: sources.Instance = None,
    limit: Annotated[int, typer.Option(help="Show at most this many calls.")] = 20,
    since: Annotated[str | None, typer.Option(help="Only calls this recent (30m, 2h, 7d).")] = None,
    job: Annotated[str | None, typer.Option(help="Only calls with this scaling_job_id.")] = None,
    route: Annotated[str | None, typer.Option(help="Only calls this route ran.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed or unfinished calls.")
                      ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List recorded calls, newest first (`history runs` for Terraform runs, `history show
    ID` for one call or run in full)."""
    if ctx.invoked_subcommand is not None:
        # `history --state-dir D show ID` works as well as `show ID --state-dir D`
        ctx.obj = (state_dir, history_url)
        return
    from tfhook.history import query

    _listing(_source(ctx, state_dir, history_url), since, dict(limit=limit, job=job, route=route,
             failed=failed, instance=instance), query.calls, query.table, as_json)


@history_app.command("runs", cls=helptext.Command)
def runs(
    ctx: typer.Context,
    state_dir: StateDir = None,
    history_url: sources.HistoryUrl = None,
    instance: sources.Instance = None,
    limit: Annotated[int, typer.Option(help="Show at most this many runs.")] = 20,
    since: Annotated[str | None, typer.Option(help="Only runs this recent (30m, 2h, 7d).")] = None,
    route: Annotated[str | None, typer.Option(help="Only runs of this route.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed or unfinished runs.")
                      ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List recorded Terraform runs (event, start-up, reconcile, retry), newest first."""
    from tfhook.history import query

    _listing(_source(ctx, state_dir, history_url), since, dict(
        limit=limit, route=route, failed=failed, instance=instance), query.runs,
        query.runs_table, as_json)


def _source(ctx: typer.Context, state_dir: Path | None, url: str | None
            ) -> tuple[Path, str | None]:
    """The history a subcommand reads: its own options, else those given to `history`
    (the default state directory when neither gives one)."""
    given = ctx.obj or (None, None)
    return state_home(state_dir or given[0]), url or given[1]


def _listing(source: tuple[Path, str | None], since: str | None, filters: dict[str, Any],
             select: Callable[[Any, Any], list[dict[str, Any]]],
             table: Callable[[list[dict[str, Any]]], str], as_json: bool) -> None:
    """Print the calls or runs `select` finds under `filters` (and --since), as a table or
    JSON."""
    from tfhook.history import query

    def rows() -> list[dict[str, Any]]:
        cutoff = None if since is None else time.time() - config.parse_age(since, name="--since")
        with sources.reading(*source) as conn:
            return select(conn, query.Filters(since=cutoff, **filters))

    found = guard(rows)
    typer.echo(query.as_json(found) if as_json else table(found), nl=False)


@history_app.command("decisions", cls=helptext.Command)
def decisions(
    ctx: typer.Context,
    state_dir: StateDir = None,
    history_url: sources.HistoryUrl = None,
    limit: Annotated[int, typer.Option(help="Show at most this many decisions.")] = 20,
    since: Annotated[str | None, typer.Option(help="Only decisions this recent (2h, 7d).")
                     ] = None,
    route: Annotated[str | None, typer.Option(help="Only decisions on this route's runs.")
                     ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only those refused or failed.")
                      ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List operators' decisions (tfhook runs approve/deny, rollbacks), newest first."""
    from tfhook.history import query

    _listing(_source(ctx, state_dir, history_url), since, dict(
        limit=limit, route=route, failed=failed), query.decisions, query.decisions_table, as_json)


@history_app.command("show", cls=helptext.Command)
def show(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="A call id (12) or a run id (run-3).")],
    state_dir: StateDir = None,
    history_url: sources.HistoryUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """One recorded call or run in full (in a fleet's history, whichever server wrote it)."""
    from tfhook.history import query

    def lookup() -> dict[str, Any]:
        kind, number = _item(item)
        with sources.reading(*_source(ctx, state_dir, history_url)) as conn:
            found = (query.run if kind == "run" else query.call)(conn, number)
        if found is None:
            raise UserError(f"no {kind} {number} in the history")
        return found

    row = guard(lookup)
    typer.echo(query.as_json(row) if as_json else query.details(row), nl=False)


def _item(text: str) -> tuple[str, int]:
    kind, _, number = text.rpartition("-")
    if kind in ("", "call", "run") and number.isdigit():
        return kind or "call", int(number)
    raise UserError(f"{text!r}: expected a call id (12) or a run id (run-3)")


def send(
    phase: Annotated[str | None, typer.Argument(help="pre-handle, handle or post-handle.")] = None,
    addr: Addr = config.DEFAULT_ADDR,
    result: Annotated[str | None, typer.Option(help="PostHandle result (default updated).")
                      ] = None,
    instruction: Annotated[str | None, typer.Option(help="Instruction (default update).")] = None,
    resource_type: ResourceType = None,
    resource_name: ResourceName = None,
    source: Annotated[str | None, typer.Option(help="The request's source.")] = None,
    job_id: Annotated[str | None, typer.Option(help="The request's scaling_job_id.")] = None,
    resource_id: ResourceId = None,
    parent_id: ParentId = None,
    parent_type: ParentType = None,
    from_json: Annotated[str | None, typer.Option(
        help="The request as JSON (as a hook receives it, or protobuf JSON); - for stdin.")] = None,
    replay: Annotated[int | None, typer.Option(help="Send again a recorded call's request.")
                      ] = None,
    state_dir: StateDir = None,
    timeout: SendTimeout = SEND_TIMEOUT,
) -> None:
    """Send one event as the Core does: health check, then the call; print what streams back.

    Exit 0 when the stream ends, 1 when the call fails or outlasts --timeout, 2 when it cannot be made."""
    from tfhook.ops import parse as request
    from tfhook.ops import send as sending

    def prepare() -> tuple[Phase, Any]:
        fields = request.Fields(result, instruction, resource_type, resource_name, source, job_id,
                                resource_id, parent_id, parent_type)
        chosen, document, where = _request(phase, from_json, replay, state_dir)
        return chosen, request.build(chosen, fields, document, where)

    target, seconds = guard(lambda: _dial(addr, timeout))
    chosen, message = guard(prepare)
    budget = sending.Budget.start(timeout, seconds)  # from here: not while stdin is read
    guard(lambda: sending.check(target, budget.health()))
    raise typer.Exit(sending.send(target, chosen, message, _echo,
                                  lambda text: typer.echo(text, err=True), budget))


def _dial(addr: str, timeout: str) -> tuple[str, float]:
    """--addr's gRPC target and --timeout in seconds (a UserError when either is bad)."""
    from tfhook.config import address

    return address.parse(addr).dial_target(), config.positive_duration(timeout, name="--timeout")


def _echo(text: str) -> None:
    typer.echo(text)
    sys.stdout.flush()


def _request(phase: str | None, from_json: str | None, replay: int | None,
             state_dir: Path | None) -> tuple[Phase, dict[str, Any] | None, str]:
    from tfhook.ops import parse as request
    from tfhook.ops import replay as replaying

    if replay is not None:
        if from_json is not None:
            raise UserError("--replay and --from-json: give one of them")
        recorded, document = replaying.recorded(state_home(state_dir), replay)
        if phase is not None and _phase(phase) is not recorded:
            raise UserError(f"--replay {replay}: that call was {recorded.value}, not {phase}")
        return recorded, document, f"call {replay}"
    if phase is None:
        raise UserError("say which phase to send: pre-handle, handle or post-handle")
    if from_json is None:
        return _phase(phase), None, "request"
    text = sys.stdin.read() if from_json == "-" else _read(from_json)
    where = "standard input" if from_json == "-" else from_json
    return _phase(phase), request.load_json(text, where), where


def _phase(text: str) -> Phase:
    phase = names.parse_phase(text)
    if phase is None:
        raise UserError(f"{text!r} is not {names.phase_choices()}")
    return phase


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--from-json: cannot read {path}: {exc}") from None


def check(
    addr: Addr = config.DEFAULT_ADDR,
    timeout: Annotated[str, typer.Option(help="How long the health check may take.")] = "5s",
) -> None:
    """Health-check a handler as the Core does at start (exit 0 when SERVING, else 2)."""
    from tfhook.ops import send as sending

    def probe() -> str:
        target, seconds = _dial(addr, timeout)
        return f"{target}: {sending.check(target, seconds)}"

    typer.echo(guard(probe))

