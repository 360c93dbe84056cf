"""tfhook.core.names: one parse and one name for phases, results and instructions (pure)."""

from __future__ import annotations

import pytest

from tfhook.core import names
from tfhook.core.model import Phase
from tfhook.hook import Instruction, Result, code_of, name_of


@pytest.mark.parametrize(("codes", "item", "code"), [
    (Result, "no-change", 4), (Result, "NO_CHANGE", 4), (Result, "updated", 2), (Result, 3, 3),
    (Result, "3", 3), (Result, 9, None), (Result, True, None), (Result, "maybe", None),
    (Instruction, "noop", 4), (Instruction, "Delete", 3),
])
def test_one_parse_for_results_and_instructions(codes, item, code) -> None:
    assert names.parse_code(codes, item) == code


def test_one_name_for_phases_results_and_instructions() -> None:
    assert names.code_name(Result, 4) == "no-change" and names.code_name(Result, 9) == "9"
    assert names.code_choices(Instruction) == ("one of create, update, delete, noop, unknown "
                                              "(or 0-4)")
    assert names.parse_phase("post-handle") is Phase.POST_HANDLE
    assert names.parse_phase("PostHandle") is None
    assert names.parse_code(Result, 9, any_number=True) == 9


def test_send_takes_any_code_the_wire_can_carry_and_says_so() -> None:
    top = names.ANY_CODE_MAX
    assert top == 2**31 - 1  # the wire's enums are int32
    assert [names.parse_code(Result, item, any_number=True)
            for item in (0, "9", top, str(top), top + 1, "-1", "x")] == [0, 9, top, top, None,
                                                                       None, None]
    assert names.code_choices(Result, any_number=True) == (
        "one of created, updated, deleted, no-change, unknown (or a number from 0 to 2147483647)")
    assert names.code_choices(Result) == (
        "one of created, updated, deleted, no-change, unknown (or 0-4)")


def test_a_code_outside_the_enum_keeps_its_number() -> None:
    assert code_of(Result, 2) is Result.UPDATED and code_of(Instruction, 4) is Instruction.NOOP
    assert code_of(Result, 9) == 9 and name_of(code_of(Result, 9)) == "9"
    assert name_of(code_of(Instruction, 3)) == "DELETE"
