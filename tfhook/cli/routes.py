"""`tfhook routes check` and `tfhook routes explain`: a routes file, checked or applied to a request."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfhook.cli import helptext
from tfhook.cli.exits import fail, guard
from tfhook.config import settings as config
from tfhook.core import names
from tfhook.core.hooks import Hook
from tfhook.errors import UserError

routes_app = typer.Typer(no_args_is_help=True, help="Check a routes file, or explain a request.",
                         cls=helptext.Group)


@routes_app.command("check", cls=helptext.Command)
def routes_check(
    file: Annotated[Path, typer.Argument(help="The routes file.")],
) -> None:
    """Check a routes file without serving: every problem, one per line (exit 0 or 2).

    Terraform directories get the start-up checks too (engine, plan of nothing).
    """
    import asyncio

    from tfhook.observe import logs
    from tfhook.terraform import routecheck

    logs.configure("logfmt", "warn")  # stdout is the verdict; warnings go to stderr
    from tfhook.config import routes_file as routes  # only here and in serve: it loads the Terraform checks
    from tfhook.terraform import probes

    env = config.environment()
    hooks = guard(lambda: routes.load(file, probes=probes.probes(env)))
    problems = asyncio.run(routecheck.check_all(hooks, env))
    if problems:
        fail("\n".join(problems))
    count = f"{len(hooks)} route{'s' if len(hooks) != 1 else ''}"
    typer.echo(f"{file}: {count} OK: {', '.join(hook.name for hook in hooks)}")


@routes_app.command("explain", cls=helptext.Command)
def routes_explain(
    file: Annotated[Path, typer.Argument(help="The routes file.")],
    from_json: Annotated[str, typer.Option(
        "--from-json", help="The request: a file with its JSON (as a hook receives it, or "
        "protobuf JSON), - for standard input, or the JSON itself.")],
    phase: Annotated[str | None, typer.Option(
        help="pre-handle, handle or post-handle, when the JSON does not say.")] = None,
) -> None:
    """Say which routes a request would run, and for each other route what ruled it out."""
    from tfhook.ops import explain

    def run() -> str:
        chosen = None if phase is None else names.parse_phase(phase)
        if phase is not None and chosen is None:
            raise UserError(f"--phase: {phase!r} is not {names.phase_choices()}")
        from tfhook.config import routes_file as routes
        from tfhook.terraform import probes

        hooks = routes.load(file, probes=probes.probes(config.environment()))
        event = explain.event_from_json(*explain.read(from_json), chosen)
        return explain.explain(event, hooks)

    typer.echo(guard(run), nl=False)


def hooks_of(file: Path) -> tuple[Hook, ...]:
    """A routes file's hooks, checked without looking at Terraform (`tfhook notify test`)."""
    from tfhook.config import routes_file as routes

    return routes.load(file)
