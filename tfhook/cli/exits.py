"""The command line's one error wrapper: an error becomes one line on stderr and exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

from tfhook.errors import RoutesError, TfhookError, UserError

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Print `message` as `tfhook: error:` lines and exit with code 2."""
    for line in message.splitlines() or [""]:  # several problems: one line each
        typer.echo(f"tfhook: error: {line}", err=True)
    raise typer.Exit(2)


def guard(call: Callable[[], T]) -> T:
    """The one place errors become a one-line message and exit code 2.

    Besides user errors, start-up can meet a domain error from a child (an engine that
    cannot start, a `terraform init` that times out): one line too, never a traceback.
    """
    try:
        return call()
    except RoutesError as exc:
        fail("\n".join(exc.problems))
    except UserError as exc:
        fail(" ".join(str(exc).split("\n")))
    except TfhookError as exc:
        fail("; ".join(line.strip() for line in str(exc).splitlines() if line.strip()))
