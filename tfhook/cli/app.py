"""The command line: parse, build Settings, call one function per command; no logic here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

try:  # typer vendors click from 0.2x on; older typer uses click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click import UsageError  # type: ignore[no-redef,import-not-found,assignment,unused-ignore]

from tfhook.cli import helptext, operate
from tfhook.cli import routes as _routes_cli
from tfhook.cli.exits import fail, guard
from tfhook.config import settings as config
from tfhook.errors import UserError

app = typer.Typer(
    cls=helptext.Group,
    add_completion=False,
    no_args_is_help=True,
    help="A drop-in autoscaler handler that lets Terraform follow the autoscaler.",
)
T = TypeVar("T")


def _version(value: bool) -> None:
    if value:
        from tfhook.cli import version as _about
        from tfhook.observe import logs

        logs.configure("logfmt", "error")  # asking Terraform its version logs at debug
        typer.echo(_about.versions(config.environment()), nl=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Show the versions of tfhook, Python, grpcio and the Terraform that "
        "--terraform auto runs, and exit.")] = False,
) -> None:
    """A drop-in autoscaler handler that lets Terraform follow the autoscaler."""


def _flag(flag: str, call: Callable[[], T]) -> T:
    """Name the flag in a user error from config (which knows no flag names)."""
    try:
        return call()
    except UserError as exc:
        raise UserError(f"{flag}: {exc}") from None


def _choice(flag: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise UserError(f"{flag}: {value!r} is not one of {', '.join(choices)}")
    return value


@app.command(cls=helptext.Command)
def serve(
    executable_path: Annotated[str | None, typer.Option(
        help="Hook executable (generic mode); relative paths start from the working directory."
    )] = None,
    handler_type: Annotated[str, typer.Option(
        help="Phase the executable handles: pre-handle, handle or post-handle.")] = "post-handle",
    tf_dir: Annotated[Path | None, typer.Option(help="Terraform directory (Terraform mode).")] = None,
    addr: Annotated[str, typer.Option(help="unix:PATH, unix:///ABS, unix-abstract:NAME or HOST:PORT."
                                      )] = config.DEFAULT_ADDR,
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="Handler config YAML (exporter_config only).")] = None,
    log_format: Annotated[str, typer.Option(help="logfmt or json.")] = "logfmt",
    log_level: Annotated[str, typer.Option(help="error, warn, info or debug.")] = "info",
    timeout: Annotated[str, typer.Option(help="Stop a run after this long (500ms, 30s, 15m, 1h)."
                                         )] = "15m",
    kill_after: Annotated[str, typer.Option(help="SIGKILL this long after the stop signal.")] = "10s",
    grace: Annotated[str, typer.Option(help="On shutdown, let calls finish for this long.")] = "30s",
    socket_mode: Annotated[str | None, typer.Option(
        help="Unix socket file mode (octal; default 0600); not for unix-abstract:.")] = None,
    terraform: Annotated[str, typer.Option(
        help="Terraform engine: auto, embedded or a path to terraform/tofu.")] = "auto",
    on_result: Annotated[list[str] | None, typer.Option(
        help="PostHandle result that triggers a refresh (repeatable): created, updated, "
        "deleted, no-change, unknown.")] = None,
    var_file: Annotated[list[Path] | None, typer.Option(help="Passed to Terraform (repeatable).")
                        ] = None,
    var: Annotated[list[str] | None, typer.Option(
        help="KEY=VALUE for Terraform (repeatable). Terraform gets it in a private file, but "
        "tfhook's own command line shows it to every local user: put secrets in --var-file "
        "or a routes file's var.")] = None,
    init: Annotated[bool, typer.Option("--init", help="Run terraform init at start.")] = False,
    lock_timeout: Annotated[str, typer.Option(help="Wait this long for the state lock.")] = "60s",
    target_from_event: Annotated[bool, typer.Option(
        "--target-from-event", help="Refresh only state resources whose id the event carries.")
    ] = False,
    on_failure: Annotated[str, typer.Option(
        help="fail: a failed refresh fails the call; warn: answer DONE and retry in background.")
    ] = "fail",
    refresh_on_start: Annotated[bool, typer.Option(
        "--refresh-on-start", help="Refresh once when the server starts.")] = False,
    reconcile_every: Annotated[str | None, typer.Option(
        help="Refresh this often when no event came (e.g. 30m).")] = None,
    max_state_removals: Annotated[int, typer.Option(
        help="Objects a refresh may remove from the state beyond those DELETED events name "
        "(more: the refresh is refused and changes nothing).")] = 0,
    no_check_revert: Annotated[bool, typer.Option(
        "--no-check-revert",
        help="Do not warn when the next apply would change back what a refresh recorded.")
    ] = False,
    routes_file: Annotated[Path | None, typer.Option(
        "--routes", help="Routes file: several hooks, each with its match (SIGHUP reloads it)."
    )] = None,
    state_dir: Annotated[Path | None, typer.Option(
        help="History directory (default $XDG_STATE_HOME/tfhook or ~/.local/state/tfhook).")] = None,
    history_keep: Annotated[str, typer.Option(help="Keep history this long (0: keep none).")] = "30d",
    history_requests: Annotated[bool, typer.Option(
        "--history-requests", help="Keep each request in the history (redacted).")] = False,
    payload_argv: Annotated[str, typer.Option(
        help="The hook's argv[1]: redacted (the request without its secrets), none ('-') or "
        "full (the whole request, as the reference: local users see its secrets in ps); "
        "stdin has it all.")] = "redacted",
    max_concurrency: Annotated[str | None, typer.Option(
        help="Hooks running at once; more calls wait (default: 4 per CPU).")] = None,
    max_connection_idle: Annotated[str, typer.Option(
        help="Close a client connection with no call for this long (0: never).")] = "5m",
    max_conversion_memory: Annotated[str, typer.Option(
        help="Memory requests in conversion may take at once; a larger one is refused.")
    ] = "64MiB",
) -> None:
    """Serve the autoscaler handler API (a routes file, a generic executable or Terraform)."""
    from tfhook.config import flags as _flags
    from tfhook.observe import logs
    from tfhook.server import lifecycle as server

    flags = _flags.HookFlags(
        executable_path, handler_type, tf_dir, routes_file, terraform, on_result or [],
        var_file or [], var or [], init, lock_timeout, target_from_event, on_failure,
        refresh_on_start, reconcile_every, payload_argv=payload_argv,
        max_state_removals=max_state_removals, check_revert=not no_check_revert)

    def build() -> config.Settings:
        _choice("--log-format", log_format, logs.FORMATS)
        _choice("--log-level", log_level, list(logs.LEVELS))
        limits = config.Limits(
            timeout=config.positive_duration(timeout, name="--timeout"),
            kill_after=config.parse_duration(kill_after, name="--kill-after"))
        found, announce = _flags.hooks(flags, limits)
        return config.Settings(
            addr=addr,
            hooks=found,
            routes_file=None if routes_file is None else routes_file.absolute(),
            limits=limits,
            announce_unmatched=announce,
            grace=config.parse_duration(grace, name="--grace"),
            socket_mode=_flag("--socket-mode", lambda: config.socket_mode(addr, socket_mode)),
            log_format=log_format,
            log_level=log_level,
            exporter=(_flag("--config", lambda: config.load_handler_config(config_file))
                      if config_file else config.Exporter()),
            state_dir=(state_dir or config.state_dir()).absolute(),
            history_keep=config.parse_age(history_keep, name="--history-keep"),
            history_requests=history_requests,
            max_concurrency=(config.default_concurrency() if max_concurrency is None else _flag(
                "--max-concurrency", lambda: config.parse_concurrency(max_concurrency))),
            max_connection_idle=config.parse_duration(max_connection_idle,
                                                      name="--max-connection-idle"),
            max_conversion_memory=_flag("--max-conversion-memory",
                                        lambda: config.parse_size(max_conversion_memory)),
        )

    settings = guard(build)
    logs.configure(settings.log_format, settings.log_level)
    guard(lambda: server.run(settings))


@app.command(
    cls=helptext.Command,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def terraform(ctx: typer.Context) -> None:
    """Run Terraform itself (terraform/tofu on PATH, else the embedded one): ARGS as for terraform.

    Choose the engine with TFHOOK_TERRAFORM=auto|embedded|PATH.
    """
    # Listed here for --help; the console entry runs cli/terraform.py before typer loads.
    from tfhook.cli import terraform as _terraform

    raise typer.Exit(_terraform.main(list(ctx.args)))


@app.command(cls=helptext.Command)
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the files.")] = Path("."),
    kind: Annotated[str | None, typer.Option(help="What to write (see --list).")] = None,
    handler_type: Annotated[str, typer.Option(
        help="Phase the hook handles: pre-handle, handle or post-handle.")] = "post-handle",
    tf_dir: Annotated[Path | None, typer.Option(
        help="terraform-refresh: the Terraform directory (default: DIR itself).")] = None,
    name: Annotated[str, typer.Option(help="Handler and systemd unit name.")] = "tfhook",
    addr: Annotated[str | None, typer.Option(
        help="Where the service listens (default unix:/run/tfhook/NAME.sock).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print, write nothing.")] = False,
    list_kinds: Annotated[bool, typer.Option("--list", help="Show the kinds and exit.")] = False,
    tfhook_path: Annotated[Path | None, typer.Option(
        help="The tfhook the unit runs (default: the installed one on PATH).")] = None,
) -> None:
    """Write a working hook, its systemd unit, the Core's handler entry and a README."""
    from tfhook.scaffold import render as scaffold

    if list_kinds:
        typer.echo(scaffold.describe_kinds(), nl=False)
        return
    if kind is None:
        fail(f"--kind is required: one of {', '.join(scaffold.KINDS)} (see --list)")
    options = scaffold.Options(directory, kind, handler_type, tf_dir, name, addr, force, dry_run,
                               tfhook_path)
    plan = guard(lambda: scaffold.init_project(options))
    typer.echo(scaffold.summary(plan, dry_run=dry_run), nl=False)
    for warning in plan.warnings:
        typer.echo(f"tfhook: warning: {warning}", err=True)


# `routes check|explain` and the operator commands (history, send, check) live in their own modules.
app.add_typer(_routes_cli.routes_app, name="routes")
operate.register(app, guard)


def main() -> None:
    """Console entry point: usage errors are one line too, exit code 2."""
    try:
        code = app(prog_name="tfhook", standalone_mode=False)
    except UsageError as exc:
        if type(exc).__name__ != "NoArgsIsHelpError":  # that one has shown the help already
            where = exc.ctx.command_path if exc.ctx else "tfhook"
            typer.echo(f"tfhook: error: {exc.format_message()} (see `{where} --help`)", err=True)
        raise SystemExit(2) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
