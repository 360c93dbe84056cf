"""The event loop tfhook serves on: uvloop when it is installed (the `fast` extra), else
asyncio's own (--event-loop).

Measured on the benchmark's generic calls (#25): uvloop takes about an eighth off tfhook's
own CPU per call, which is what calls/s at 16 concurrent calls are bound by on 2 cores.
asyncio's loop stays the fallback: nothing here imports uvloop unless it is asked for or
`auto` finds it installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tfhook.errors import UserError

CHOICES = ("auto", "asyncio", "uvloop")
Factory = Callable[[], asyncio.AbstractEventLoop]


def factory(choice: str) -> tuple[str, Factory | None]:
    """The loop `choice` names, as (its name, a factory for asyncio.Runner; None: asyncio's).

    Raises:
        UserError: uvloop was asked for and cannot be imported (`auto` falls back).
    """
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError as exc:
        if choice == "auto":
            return "asyncio", None
        raise UserError(f"--event-loop uvloop: uvloop cannot be imported ({exc}); install "
                        "tfhook[fast], or serve with --event-loop asyncio") from None
    return "uvloop", uvloop.new_event_loop


def running() -> str:
    """The running loop's name for the start-up line: `uvloop` or `asyncio`."""
    return type(asyncio.get_running_loop()).__module__.partition(".")[0]
