"""The command line: parse, build Settings, call one function per command; no logic here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer

try:  # typer vendors click from 0.2x on; older typer uses click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click import UsageError  # type: ignore[no-redef,import-not-found,unused-ignore]

from tfhook import _operate, config
from tfhook.errors import TfhookError, UserError
from tfhook.model import Phase

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="A drop-in autoscaler handler that lets Terraform follow the autoscaler.",
)
T = TypeVar("T")
PHASES = {phase.value: phase for phase in Phase}


@app.callback()
def _root() -> None:
    """A drop-in autoscaler handler that lets Terraform follow the autoscaler."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"tfhook: error: {message}", err=True)
    raise typer.Exit(2)


def _guard(call: Callable[[], T]) -> T:
    """The one place errors become a one-line message and exit code 2.

    Besides user errors, start-up can meet a domain error from a child (an engine that
    cannot start, a `terraform init` that times out): one line too, never a traceback.
    """
    try:
        return call()
    except UserError as exc:
        _fail(str(exc))
    except TfhookError as exc:
        _fail("; ".join(line.strip() for line in str(exc).splitlines() if line.strip()))


def _choice(flag: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise UserError(f"{flag}: {value!r} is not one of {', '.join(choices)}")
    return value


@app.command()
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
    socket_mode: Annotated[str, typer.Option(help="Unix socket file mode (octal).")] = "0600",
    terraform: Annotated[str, typer.Option(
        help="Terraform engine: auto, embedded or a path to terraform/tofu.")] = "auto",
    on_result: Annotated[list[str] | None, typer.Option(
        help="PostHandle result that triggers a refresh (repeatable): created, updated, "
        "deleted, no-change, unknown.")] = None,
    var_file: Annotated[list[Path] | None, typer.Option(help="Passed to Terraform (repeatable).")
                        ] = None,
    var: Annotated[list[str] | None, typer.Option(help="KEY=VALUE for Terraform (repeatable).")
                   ] = None,
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
    state_dir: Annotated[Path | None, typer.Option(
        help="History directory (default $XDG_STATE_HOME/tfhook or ~/.local/state/tfhook).")] = None,
    history_keep: Annotated[str, typer.Option(help="Keep history this long (0: keep none).")] = "30d",
    history_requests: Annotated[bool, typer.Option(
        "--history-requests", help="Keep each request in the history (redacted).")] = False,
) -> None:
    """Serve the autoscaler handler API (generic executable or Terraform mode)."""
    from tfhook import logs, server

    def build() -> config.Settings:
        _choice("--log-format", log_format, logs.FORMATS)
        _choice("--log-level", log_level, list(logs.LEVELS))
        phase = PHASES.get(handler_type)
        if phase is None:
            raise UserError(f"--handler-type: {handler_type!r} is not one of {', '.join(PHASES)}")
        if (executable_path is None) == (tf_dir is None):
            raise UserError("give exactly one of --executable-path (generic) or --tf-dir (Terraform)")
        config.check_mode_flags(terraform_mode=tf_dir is not None, given={
            "--handler-type": handler_type != "post-handle", "--terraform": terraform != "auto",
            "--on-result": bool(on_result), "--var-file": bool(var_file), "--var": bool(var),
            "--init": init, "--lock-timeout": lock_timeout != "60s",
            "--target-from-event": target_from_event, "--on-failure": on_failure != "fail",
            "--refresh-on-start": refresh_on_start, "--reconcile-every": bool(reconcile_every),
        })
        tf = None
        if tf_dir is not None:
            tf = config.terraform_settings(
                tf_dir, engine=terraform, on_result=on_result or [], var_files=var_file or [],
                variables=var or [], init=init, lock_timeout=lock_timeout,
                target_from_event=target_from_event, on_failure=on_failure,
                refresh_on_start=refresh_on_start, reconcile_every=reconcile_every,
            )
        return config.Settings(
            addr=addr,
            handler_type=phase,
            executable=None if executable_path is None else config.resolve_executable(
                executable_path),
            terraform=tf,
            timeout=config.positive_duration(timeout, flag="--timeout"),
            kill_after=config.parse_duration(kill_after, flag="--kill-after"),
            grace=config.parse_duration(grace, flag="--grace"),
            socket_mode=config.parse_socket_mode(socket_mode),
            log_format=log_format,
            log_level=log_level,
            exporter=config.load_handler_config(config_file) if config_file else config.Exporter(),
            state_dir=(state_dir or config.state_dir()).absolute(),
            history_keep=config.parse_age(history_keep, flag="--history-keep"),
            history_requests=history_requests,
        )

    settings = _guard(build)
    logs.configure(settings.log_format, settings.log_level)
    _guard(lambda: server.run(settings))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def terraform(ctx: typer.Context) -> None:
    """Run Terraform itself (terraform/tofu on PATH, else the embedded one): ARGS as for terraform.

    Choose the engine with TFHOOK_TERRAFORM=auto|embedded|PATH.
    """
    from tfhook.terraform import engine

    env = config.environment()
    raise typer.Exit(_guard(lambda: engine.cli(env.get("TFHOOK_TERRAFORM", "auto"),
                                               list(ctx.args), env)))


@app.command()
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
) -> None:
    """Write a working hook, its systemd unit, the Core's handler entry and a README."""
    from tfhook import scaffold

    if list_kinds:
        typer.echo(scaffold.describe_kinds(), nl=False)
        return
    if kind is None:
        _fail(f"--kind is required: one of {', '.join(scaffold.KINDS)} (see --list)")
    options = scaffold.Options(directory, kind, handler_type, tf_dir, name, addr, force, dry_run)
    plan = _guard(lambda: scaffold.init_project(options))
    typer.echo(scaffold.summary(plan, dry_run=dry_run), nl=False)
    for warning in plan.warnings:
        typer.echo(f"tfhook: warning: {warning}", err=True)


# Operator commands (history, send, check) live in their own module.
_operate.register(app, _guard)


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
