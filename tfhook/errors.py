"""The exception hierarchy: every error tfhook raises on purpose is a TfhookError."""

from __future__ import annotations

from collections.abc import Iterable


class TfhookError(Exception):
    """Root of tfhook's own errors."""


class UserError(TfhookError):
    """Bad flags, files or directories: reported in one line, exit code 2."""


class RoutesError(UserError):
    """A routes file with problems; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class RequestError(TfhookError):
    """A request the handler cannot act on (INVALID_ARGUMENT)."""


class ActionFailed(TfhookError):
    """The hook or Terraform ran and failed (UNKNOWN, like the reference)."""

    held = False  # its plan waits for an operator (#21): a warned answer says held, not FAILED


class ActionTimeout(ActionFailed):
    """The hook or Terraform ran past its timeout and was stopped (DEADLINE_EXCEEDED)."""


class LockHeld(ActionFailed):
    """Terraform could not get the state lock in time (ABORTED)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`did you mean `parallel`? ` for the choice closest to a mistyped key or flag, or ""
    (difflib's ratio of at least 0.6, as click uses for its own suggestions)."""
    import difflib  # only for a mistake: every start (`tfhook terraform` too) imports this

    closest = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean `{closest[0]}`? " if closest else ""
