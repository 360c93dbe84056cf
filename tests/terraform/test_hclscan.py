"""The scan of Terraform's native syntax (#22): each attribute's expression, its text and
line, with strings, templates, heredocs, comments and brackets skipped as Terraform reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfhook.terraform import hclscan

TEXT = '''\
resource "simcloud_elb" "main" { # the ELB
  name = "x-${var.name}-}" // a brace in a string
  plan = var.elb_plan   # owned by converge
  note = <<-EOT
    plan = 1
    EOT
  tags = [
    "a", /* b */ "c",
  ]
  lifecycle { ignore_changes = [servers] }
}
'''


def test_attributes_have_their_text_and_line() -> None:
    body = hclscan.scan(TEXT, Path("main.tf"))
    [block] = body.blocks
    found = {name: (a.text, a.line) for name, a in block.attributes.items()}
    assert (block.kind, block.labels, block.line) == ("resource", ("simcloud_elb", "main"), 1)
    assert found == {"name": ('"x-${var.name}-}"', 2), "plan": ("var.elb_plan", 3),
                     "note": ("<<-EOT\n    plan = 1\n    EOT", 4),
                     "tags": ('[\n    "a", /* b */ "c",\n  ]', 7)}
    assert block.blocks[0].attributes["ignore_changes"].text == "[servers]"
    plan = block.attributes["plan"]
    assert TEXT[plan.start:plan.end] == "var.elb_plan"


@pytest.mark.parametrize("text", ['a = "open\n', "b {\n  c = 1\n", "d = (1\n"])
def test_what_it_cannot_read_is_one_error_with_its_line(text: str) -> None:
    with pytest.raises(hclscan.ScanError, match=r"^t\.tf:\d+: "):
        hclscan.scan(text, Path("t.tf"))
