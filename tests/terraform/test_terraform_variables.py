"""A routes file's `var` values reach Terraform with their YAML types (bool, number, list,
map); `--var K=V` stays a string, as `-var` gave it. Real servers and the embedded engine."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import json_format
from support.servers import run_tfhook
from support.terraform import updated, write_module

from tfhook.v1 import handler_pb2 as pb

MODULE = """\
variable "enabled" {
  type = bool
}

variable "size" {
  type = any
}

variable "zones" {
  type = any
}

variable "tags" {
  type = any
}

variable "name" {
  type = any
}

output "shown" {
  value = jsonencode([var.enabled, var.size, var.zones, var.tags, var.name])
}
"""

ROUTES = """\
routes:
  - name: typed
    terraform:
      dir: mod
      terraform: embedded
      var:
        enabled: true
        size: 3
        zones: [is1a, tk1b]
        tags: {env: prod, tier: 2}
        name: "007"
"""


def test_route_values_reach_terraform_with_their_types(tmp_path: Path, serve) -> None:
    write_module(tmp_path / "mod", {"main.tf": MODULE})
    (tmp_path / "tfhook.yaml").write_text(ROUTES)
    server = serve("--routes", str(tmp_path / "tfhook.yaml"))

    answers = server.call("PostHandle", json_format.ParseDict(updated(), pb.PostHandleRequest()))

    assert answers[-1].status == pb.HandleResponse.DONE, answers
    shown = '[true,3,["is1a","tk1b"],{"env":"prod","tier":2},"007"]'
    assert json.dumps(shown) in answers[-1].log, answers[-1].log


def test_flag_values_stay_strings(tmp_path: Path, serve) -> None:
    write_module(tmp_path / "mod", {"main.tf": MODULE})
    flags = [f"--var={pair}" for pair in ("enabled=true", "size=3", "zones=is1a",
                                         "tags=prod", "name=007")]
    server = serve("--tf-dir", str(tmp_path / "mod"), "--terraform", "embedded", *flags)

    answers = server.call("PostHandle", json_format.ParseDict(updated(), pb.PostHandleRequest()))

    assert answers[-1].status == pb.HandleResponse.DONE, answers
    assert json.dumps('[true,"3","is1a","prod","007"]') in answers[-1].log, answers[-1].log


def test_routes_check_names_a_value_terraform_cannot_take(tmp_path: Path) -> None:
    write_module(tmp_path / "mod", {"main.tf": MODULE})
    (tmp_path / "tfhook.yaml").write_text(
        "routes:\n  - name: typed\n    terraform:\n      dir: mod\n      var:\n"
        "        enabled:\n        size: .nan\n        zones: [2024-01-31]\n"
        "        tags: {1: one}\n        name: ok\n")

    result = run_tfhook(["routes", "check", "tfhook.yaml"], cwd=tmp_path)

    where = "tfhook: error: tfhook.yaml: routes[0] (typed): terraform.var: "
    assert (result.returncode, result.stdout) == (2, ""), result
    assert result.stderr.splitlines() == [
        f"{where}enabled: null (no value): give one, or leave the key out for the default",
        f"{where}size: nan is not a number Terraform takes",
        f"{where}zones: datetime.date(2024, 1, 31) is a YAML date, not a string, number, "
        "bool, list or map (quote it)",
        f"{where}tags: {{1: 'one'}}: map keys must be strings (quote them)",
    ]
