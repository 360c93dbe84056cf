"""The exception hierarchy: every error tfhook raises on purpose is a TfhookError."""

from __future__ import annotations


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


class ActionTimeout(ActionFailed):
    """The hook or Terraform ran past its timeout and was stopped (DEADLINE_EXCEEDED)."""


class LockHeld(ActionFailed):
    """Terraform could not get the state lock in time (ABORTED)."""
