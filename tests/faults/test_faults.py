"""The fault suite: every case against a live server, then a good call (see faultlab)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import fault_hooks
import fault_load
import fault_memory
import fault_server
import pytest
from faultlab import Case, Lab, lab_in

CASES = [*fault_hooks.CASES, *fault_server.CASES, *fault_memory.CASES]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    yield from lab_in(tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[case.name.replace(" ", "-") for case in CASES])
def test_fault(lab: Lab, case: Case) -> None:
    held = case.check(lab)
    assert held  # what held, as `make stress` prints it


def test_load_small(lab: Lab) -> None:
    """A small load: every call DONE, no zombie, no descriptor left open. The full one
    (5,000 calls at concurrency 32, memory too) is `make stress`."""
    report = fault_load.run(lab, calls=300, concurrency=16, sample_at=100)
    assert not report.errors, report.errors
    assert (report.failed, report.zombies) == (0, 0)
    assert report.fds_after <= report.fds_before


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="process groups and /proc checks need Linux")
