"""Why a Terraform run failed, told honestly: a lock held by another client, or Terraform's own
diagnostics (a state that cannot be read is not a lock problem, even when Terraform reports it
while acquiring the lock)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tfhook.errors import ActionFailed, LockHeld
from tfhook.process import spawn as process
from tfhook.terraform import commands
from tfhook.terraform.events import LOCK_SUMMARY, Diagnostic, Report

_LOCK_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):[ \t]*(.*)$", re.M)
_ERROR_MESSAGE = re.compile(
    r"^Error message:\s*(.*?)(?:\nLock Info:|\n+Terraform acquires a state lock|\Z)", re.S)
# Backends whose lock error carries the requester's own lock info, not the holder's: pg's
# advisory locks know no holder (internal/backend/remote-state/pg/client.go); the http
# backend puts the holder's ID in its message only (checked with Terraform 1.11).
_PG = ("workspace is already locked:", "already locked for workspace creation:")
_REQUESTER_INFO = (*_PG, "http remote state already locked")
_HOLDER_ID = re.compile(r"already locked: ID=(\S+)")
_WARNING = ("Run that only when no Terraform is running on this state: the holder may still "
            "be writing it.")


@dataclass(frozen=True, slots=True)
class LockProblem:
    """Terraform could not take the state lock because another client holds it."""

    message: str  # the backend's own words ("Workspace is already locked: default")
    holder: dict[str, str]  # the holder's lock info; empty when the backend does not say
    lock_id: str  # the holder's lock ID, "" when unknown


def lock_problem(report: Report) -> LockProblem | None:
    """The lock problem of a failed run, only when Terraform said another client holds it."""
    for diag in report.errors:
        if diag.summary != LOCK_SUMMARY or "\nLock Info:" not in diag.detail:
            continue  # no lock info: the lock could not be tried (an unreadable state)
        message = _error_message(diag)
        if any(marker in message.lower() for marker in _REQUESTER_INFO):
            found = _HOLDER_ID.search(message)
            return LockProblem(message, {}, found.group(1) if found else "")
        info = dict(_LOCK_FIELD.findall(diag.detail.split("\nLock Info:", 1)[1]))
        return LockProblem(message, info, info.get("ID", ""))
    return None


def failure(where: Path, waited: str, report: Report, exit_: process.Exit) -> ActionFailed:
    """The error of a failed run: a lock another client holds, or Terraform's diagnostics.

    Args:
        where: the Terraform directory.
        waited: how the lock timeout is named (its flag or routes-file field) and how long
            it was.
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
    info = problem.holder
    if info:
        head = (f"terraform state lock is held by {info.get('Who') or '?'} since "
                f"{info.get('Created') or '?'} (lock ID {problem.lock_id or '?'}, operation "
                f"{info.get('Operation') or '?'}); waited {waited}.")
    else:
        head = (f"terraform state is locked by another client ({problem.message}); waited "
                f"{waited}. The backend does not say who holds it (the lock info Terraform "
                "printed is this run's own request).")
    if problem.lock_id:
        release = (f"To release it: "
                   f"{commands.for_person(where, commands.force_unlock(problem.lock_id))}\n"
                   f"{_WARNING}")
    elif any(marker in problem.message.lower() for marker in _PG):
        release = ("A pg lock belongs to the holder's database session: it is released when "
                   "that Terraform ends or its session is closed (pg_locks, locktype "
                   "'advisory'); force-unlock cannot release it.")
    else:
        release = ("No lock ID is known: release the lock where the backend keeps it, once "
                   "no Terraform is running on this state.")
    return f"{head}\n{release}"


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
