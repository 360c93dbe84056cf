"""Why a Terraform run failed, told honestly: a lock held by another client, or Terraform's own
diagnostics (a state that cannot be read is not a lock problem, even when Terraform reports it
while acquiring the lock)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tfhook import process
from tfhook.errors import ActionFailed, LockHeld
from tfhook.terraform.events import LOCK_SUMMARY, Diagnostic, Report

_LOCK_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):[ \t]*(.*)$", re.M)
_ERROR_MESSAGE = re.compile(
    r"^Error message:\s*(.*?)(?:\nLock Info:|\n+Terraform acquires a state lock|\Z)", re.S)
# Backends whose lock error carries the requester's own lock info, not the holder's: pg's
# advisory locks know no holder (internal/backend/remote-state/pg/client.go).
_REQUESTER_INFO = ("Workspace is already locked:", "already locked for workspace creation")


@dataclass(frozen=True, slots=True)
class LockProblem:
    """Terraform could not take the state lock because another client holds it."""

    message: str  # the backend's own words ("Workspace is already locked: default")
    info: dict[str, str]  # the lock info Terraform printed
    names_holder: bool  # False: the info is this run's own request (pg)


def lock_problem(report: Report) -> LockProblem | None:
    """The lock problem of a failed run, only when Terraform said another client holds it."""
    for diag in report.errors:
        if diag.summary != LOCK_SUMMARY or "\nLock Info:" not in diag.detail:
            continue  # no lock info: the lock could not be tried (an unreadable state)
        message = _error_message(diag)
        info = dict(_LOCK_FIELD.findall(diag.detail.split("\nLock Info:", 1)[1]))
        return LockProblem(message, info, not any(m in message for m in _REQUESTER_INFO))
    return None


def failure(where: Path, waited: str, report: Report, exit_: process.Exit) -> ActionFailed:
    """The error of a failed run: a lock another client holds, or Terraform's diagnostics.

    Args:
        where: the Terraform directory.
        waited: how the lock timeout is named and how long it was (`--lock-timeout 60s`).
        report: what the run printed.
        exit_: how it ended.
    """
    problem = lock_problem(report)
    if problem is not None:
        return LockHeld(lock_text(problem, where, waited))
    lines = [f"terraform refresh failed in {where} ({exit_.describe()})"]
    lines += [f"Error: {_shown(diag)}" for diag in report.errors]
    if not report.errors:
        lines += report.other[-10:] or [exit_.stderr_tail()]
    return ActionFailed("\n".join(line for line in lines if line))


def lock_text(problem: LockProblem, where: Path, waited: str) -> str:
    """What is known of the lock, and how it is released."""
    info = problem.info
    if not problem.names_holder:
        return (f"terraform state is locked by another client ({problem.message}); waited "
                f"{waited}. The backend does not say who holds it (its lock info describes "
                "this run's own request). A pg lock belongs to the holder's database session "
                "and is released when that Terraform ends or its session is closed "
                "(pg_locks, locktype 'advisory'); force-unlock cannot release it.")
    lock_id = info.get("ID") or "?"
    return (f"terraform state lock is held by {info.get('Who') or '?'} since "
            f"{info.get('Created') or '?'} (lock ID {lock_id}, operation "
            f"{info.get('Operation') or '?'}); waited {waited}.\n"
            f"To release it: tfhook terraform -chdir={where} force-unlock {lock_id}\n"
            "Run that only when no Terraform is running on this state: the holder may "
            "still be writing it.")


def _error_message(diag: Diagnostic) -> str:
    found = _ERROR_MESSAGE.search(diag.detail)
    return " ".join(found.group(1).split()) if found else ""


def _shown(diag: Diagnostic) -> str:
    """A diagnostic as text; a lock that could not be tried shows the reason, not the lock."""
    if diag.summary == LOCK_SUMMARY:
        message = _ERROR_MESSAGE.search(diag.detail)
        reason = message.group(1).strip() if message else diag.detail.strip()
        return "the state could not be read to lock it:\n" + "\n".join(
            "  " + line for line in reason.splitlines() if line.strip())
    return diag.text()
