"""The command line: parse, build Settings, call one function per command; no logic here."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

try:  # typer vendors click from 0.2x on; older typer uses click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click import UsageError  # type: ignore[no-redef,import-not-found,assignment,unused-ignore]

from tfhook.cli import helptext, operate
from tfhook.cli import notify as _notify_cli
from tfhook.cli import routes as _routes_cli
from tfhook.cli import runs as _runs_cli
from tfhook.cli import state as _state_cli
from tfhook.cli.exits import fail, guard
from tfhook.config import settings as config
from tfhook.config.options import FLAGS, Option
from tfhook.errors import did_you_mean

app = typer.Typer(
    cls=helptext.Group,
    add_completion=False,
    no_args_is_help=True,
    help="A drop-in autoscaler handler that lets Terraform follow the autoscaler.",
)


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


def serve(ctx: typer.Context, **values: Any) -> None:
    """Serve the autoscaler handler API (a routes file, a generic executable or Terraform)."""
    from tfhook.config import flags
    from tfhook.observe import logs
    from tfhook.server import lifecycle as server
    from tfhook.terraform import probes

    # The flags the command line named, even at their default value (--lock-timeout 60s).
    explicit = {key for key in values if _named(ctx, key)}
    settings = guard(lambda: flags.settings(values, probes.probes(config.environment()),
                                            explicit))
    logs.configure(settings.log_format, settings.log_level)
    guard(lambda: server.run(settings))


def _named(ctx: typer.Context, key: str) -> bool:
    source = ctx.get_parameter_source(key)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _parameter(option: Option) -> inspect.Parameter:
    """One serve flag, as typer reads it from a signature."""
    declared = typer.Option(option.cli, help=option.help, metavar=option.metavar or None,
                            rich_help_panel=option.mode or None)
    return inspect.Parameter(option.key, inspect.Parameter.KEYWORD_ONLY, default=option.default,
                             annotation=Annotated[option.type, declared])


# serve's flags are the option table's (config/options.py): declared there, once.
serve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
     *(_parameter(option) for option in FLAGS)])
app.command(cls=helptext.Command)(serve)


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
        help="Phase the hook handles: pre-handle, handle or post-handle.", metavar="PHASE",
    )] = "post-handle",
    tf_dir: Annotated[Path | None, typer.Option(
        metavar="DIR", help="terraform-refresh: the Terraform directory (default: DIR itself).")] = None,
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


# `routes check|explain`, `runs held|approve|deny`, `state snapshots|rollback` and the operator
# commands (history, send, check) live in their own modules.
app.add_typer(_routes_cli.routes_app, name="routes")
app.add_typer(_runs_cli.runs_app, name="runs")
app.add_typer(_state_cli.state_app, name="state")
app.add_typer(_notify_cli.notify_app, name="notify")
operate.register(app)


def main() -> None:
    """Console entry point: usage errors are one line too, exit code 2."""
    try:
        code = app(prog_name="tfhook", standalone_mode=False)
    except UsageError as exc:
        if type(exc).__name__ != "NoArgsIsHelpError":  # that one has shown the help already
            where = exc.ctx.command_path if exc.ctx else "tfhook"
            typer.echo(f"tfhook: error: {_usage(exc)} (see `{where} --help`)", err=True)
        raise SystemExit(2) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _usage(exc: UsageError) -> str:
    """click's message; an unknown flag suggests the closest one as a routes file's unknown
    key does (click would list every close one, alphabetically)."""
    hint = did_you_mean(getattr(exc, "option_name", ""), getattr(exc, "possibilities", None) or [])
    return f"{exc.message} ({hint.rstrip()})" if hint else exc.format_message()


if __name__ == "__main__":
    main()
