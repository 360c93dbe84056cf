# ruff: noqa: E501 - the sample lines are kept exactly as Terraform printed them
"""tfhook.terraform.diagnostics against real `-json` lines from the embedded Terraform 1.11.4:
a lock held by another client names what is known; an unreadable state is not a lock."""

from __future__ import annotations

from pathlib import Path

import grpc
from support.terraform import updated

from tfhook.errors import LockHeld
from tfhook.process.spawn import Exit
from tfhook.terraform.diagnostics import failure, lock_problem
from tfhook.terraform.events import Report

# backend "pg", the workspace's advisory lock held by another session, -lock-timeout=1s.
PG_LOCKED = b'{"@level":"error","@message":"Error: Error acquiring the state lock","@module":"terraform.ui","@timestamp":"2026-11-30T02:22:14.861502Z","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: Workspace is already locked: default\\nLock Info:\\n  ID:        495ec9a7-0c6f-8507-76ec-319aecd81420\\n  Path:      \\n  Operation: OperationTypeApply\\n  Who:       root@vm\\n  Version:   1.11.4\\n  Created:   2026-11-30 02:22:13.856792178 +0000 UTC\\n  Info:      \\n\\n\\nTerraform acquires a state lock to protect the state from being written\\nby multiple users at the same time. Please resolve the issue above and try\\nagain. For most commands, you can disable locking with the \\"-lock=false\\"\\nflag, but this is not recommended."},"type":"diagnostic"}'
# The local backend with terraform.tfstate cut after 60 bytes.
TRUNCATED = b'{"@level":"error","@message":"Error: Error acquiring the state lock","@module":"terraform.ui","@timestamp":"2026-11-30T02:21:02.861309Z","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: 2 problems:\\n\\n- Unsupported state file format: The state file could not be parsed as JSON: syntax error at byte offset 60.\\n- Unsupported state file format: The state file does not have a \\"version\\" attribute, which is required to identify the format version.\\n\\nTerraform acquires a state lock to protect the state from being written\\nby multiple users at the same time. Please resolve the issue above and try\\nagain. For most commands, you can disable locking with the \\"-lock=false\\"\\nflag, but this is not recommended."},"type":"diagnostic"}'
# backend "http" with lock_address: the lock server answered 423 with the holder's lock info
# (ID holder-id-123, Who alice@elsewhere) as JSON, then with a body that is not JSON.
HTTP_LOCKED = b'{"@level":"error","@message":"Error: Error acquiring the state lock","@module":"terraform.ui","@timestamp":"2026-11-30T02:33:59.552Z","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: HTTP remote state already locked: ID=holder-id-123\\nLock Info:\\n  ID:        7011cd57-352b-39cf-8b66-83e81e7f5d9f\\n  Path:      \\n  Operation: OperationTypeApply\\n  Who:       root@vm\\n  Version:   1.11.4\\n  Created:   2026-11-30 02:33:59.551718624 +0000 UTC\\n  Info:      \\n\\n\\nTerraform acquires a state lock to protect the state from being written\\nby multiple users at the same time. Please resolve the issue above and try\\nagain. For most commands, you can disable locking with the \\"-lock=false\\"\\nflag, but this is not recommended."},"type":"diagnostic"}'
HTTP_UNREADABLE = HTTP_LOCKED.replace(b": ID=holder-id-123", b", failed to unmarshal body")
EXIT = Exit(returncode=1, stderr=b"")
WHERE = Path("/srv/infra")


def report_of(*lines: bytes) -> Report:
    report = Report()
    for line in lines:
        report.feed(line)
    return report


def test_pg_lock_error_says_another_client_holds_it_never_who() -> None:
    problem = lock_problem(report_of(PG_LOCKED))
    assert problem is not None and (problem.holder, problem.lock_id) == ({}, "")
    assert problem.message == "Workspace is already locked: default"
    error = failure(WHERE, "--lock-timeout 1s", report_of(PG_LOCKED), EXIT)
    assert isinstance(error, LockHeld)
    text = str(error)
    assert text.startswith("terraform state is locked by another client "
                           "(Workspace is already locked: default); waited --lock-timeout 1s.")
    # The info is this run's own request: naming it as the holder would be false.
    assert "root@vm" not in text and "495ec9a7" not in text and "held by" not in text
    assert text.endswith("force-unlock cannot release it.")


def test_http_lock_error_gives_the_holders_id_from_the_message() -> None:
    error = failure(WHERE, "--lock-timeout 1s", report_of(HTTP_LOCKED), EXIT)
    assert isinstance(error, LockHeld)
    lines = str(error).splitlines()
    assert lines[0].startswith("terraform state is locked by another client (HTTP remote "
                               "state already locked: ID=holder-id-123); waited")
    assert lines[1] == "To release it: tfhook terraform -chdir=/srv/infra force-unlock holder-id-123"
    assert "root@vm" not in str(error) and "7011cd57" not in str(error)
    unreadable = str(failure(WHERE, "--lock-timeout 1s", report_of(HTTP_UNREADABLE), EXIT))
    assert "force-unlock" not in unreadable and "7011cd57" not in unreadable
    assert unreadable.splitlines()[1].startswith("No lock ID is known")


def test_a_lock_with_a_holder_ends_with_the_command_that_releases_it() -> None:
    from test_terraform_events import LOCKED
    error = failure(WHERE, "--lock-timeout 2s", report_of(LOCKED), EXIT)
    assert isinstance(error, LockHeld)
    lines = str(error).splitlines()
    assert lines[0] == ("terraform state lock is held by root@vm since 2026-11-22 "
                        "01:19:00.910349627 +0000 UTC (lock ID 999ccdfe-c992-6b47-fe66-"
                        "b99015288d36, operation OperationTypeApply); waited --lock-timeout 2s.")
    assert lines[1] == ("To release it: tfhook terraform -chdir=/srv/infra force-unlock "
                        "999ccdfe-c992-6b47-fe66-b99015288d36")
    assert lines[2].startswith("Run that only when no Terraform is running on this state")


def test_an_unreadable_state_is_terraforms_parse_error_not_a_lock() -> None:
    assert lock_problem(report_of(TRUNCATED)) is None
    error = failure(WHERE, "--lock-timeout 1s", report_of(TRUNCATED), EXIT)
    assert not isinstance(error, LockHeld)
    assert str(error).splitlines() == [
        "terraform refresh failed in /srv/infra (exit status 1)",
        "Error: the state could not be read to lock it:",
        "  2 problems:",
        "  - Unsupported state file format: The state file could not be parsed as JSON: "
        "syntax error at byte offset 60.",
        "  - Unsupported state file format: The state file does not have a \"version\" "
        "attribute, which is required to identify the format version.",
    ]


def test_a_truncated_state_file_answers_terraforms_parse_error(demo: Path, tf_serve) -> None:
    server = tf_serve(demo, "--lock-timeout", "1s")  # start-up would refuse it: cut it now
    state = demo / "terraform.tfstate"
    state.write_bytes(state.read_bytes()[:60])
    error = server.call_error("PostHandle", updated())
    assert error.code() == grpc.StatusCode.UNKNOWN  # not ABORTED: no lock is involved
    details = error.details()
    assert "The state file could not be parsed as JSON" in details
    assert "lock is held" not in details and "locked by" not in details
    assert "force-unlock" not in details


def test_pg_creation_lock_is_the_requesters_info_too() -> None:
    # pg's message when another client is creating the workspace (pg/client.go).
    creating = PG_LOCKED.replace(b"Workspace is already locked: default",
                                 b"Already locked for workspace creation: staging")
    text = str(failure(WHERE, "--lock-timeout 1s", report_of(creating), EXIT))
    assert text.startswith("terraform state is locked by another client (Already locked "
                           "for workspace creation: staging)")
    assert text.endswith("force-unlock cannot release it.") and "root@vm" not in text
