"""What the process door (tfhook.process.spawn) takes and gives: how to run a child, how it ended."""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfhook.core.hooks import Limits


@dataclass(frozen=True, slots=True)
class Spec:
    """How to run one child.

    Attributes:
        argv: program and arguments (no shell).
        name: how messages name the program.
        stdin: bytes written to standard input, which is then closed.
        env: the whole environment; None inherits ours.
        cwd: working directory.
        limits: seconds before the stop ladder starts, then between the stop signal and
            SIGKILL (a hook's, whole).
        stop_signal: the first signal (SIGTERM for hooks, SIGINT for Terraform).
        read_every: read stdout at most this often (seconds; 0: as it comes). Progress
            that trickles in line by line costs a wake-up per line otherwise.
        if_killed: what the warning adds when the child had to be killed (SIGKILL): what
            a kill may leave behind (Terraform: its state lock).
        command: how traces name what the child does (`terraform plan`), never with its
            arguments; "" names it by its program's file name.
    """

    argv: Sequence[str]
    name: str
    stdin: bytes = b""
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    limits: Limits = field(default_factory=Limits)
    stop_signal: int = signal.SIGTERM
    read_every: float = 0.0
    if_killed: str = ""
    command: str = ""


@dataclass(frozen=True, slots=True)
class Exit:
    """How a child ended.

    Attributes:
        returncode: the exit status, or minus the signal that ended it.
        stderr: standard error, its end when there was much (see stderr_cut).
        stderr_cut: whether the start of standard error was dropped, so `stderr` may begin
            in the middle of a line, and of a secret.
    """

    returncode: int
    stderr: bytes
    stderr_cut: bool = False

    def describe(self) -> str:
        """Go's wording: `exit status 3` or `signal: killed`."""
        if self.returncode < 0:
            name = signal.strsignal(-self.returncode) or f"signal {-self.returncode}"
            return f"signal: {name.lower()}"
        return f"exit status {self.returncode}"

    def stderr_tail(self, lines: int = 10, limit: int = 2048,
                    scrub: Callable[[str], str] | None = None) -> str:
        """The last lines of standard error, as text of at most `limit` UTF-8 bytes.

        The tail goes into a gRPC status message, which travels as a header: clients
        refuse headers over 8-16 KiB, so one long line must not make it that large.
        `scrub` (secrets out) sees the whole of standard error before it is cut: a secret
        cut in two by the limit would not be recognised any more.
        """
        text = self.stderr.decode("utf-8", "replace")
        text = (scrub(text) if scrub is not None else text).rstrip()
        tail = "\n".join(text.splitlines()[-lines:])
        data = tail.encode("utf-8")
        if len(data) > limit:
            tail = "…" + data[-limit:].decode("utf-8", "ignore")
        return tail
