"""The command line's one error wrapper: an error becomes one line on stderr and exit code 2
(1 for a decision the server refused)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

from tfhook.core.decisions import Refused
from tfhook.errors import RoutesError, TfhookError, UserError

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Print `message` as `tfhook: error:` lines and exit with code 2."""
    for line in message.splitlines() or [""]:  # several problems: one line each
        typer.echo(f"tfhook: error: {line}", err=True)
    raise typer.Exit(2)


def decided(call: Callable[[], T]) -> T:
    """As `guard`, and a server's refusal of an operator's decision (#21) is one line with
    exit code 1: `tfhook runs approve` tells "refused" (1) from "could not ask" (2)."""

    def asking() -> T:
        try:
            return call()
        except Refused as exc:
            for line in str(exc).splitlines() or [""]:
                typer.echo(f"tfhook: refused: {line}", err=True)
            raise typer.Exit(1) from None

    return guard(asking)


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
