"""A routes file with a Terraform route per kind of resource and a notifying hook, on disk."""

from __future__ import annotations

from pathlib import Path

from support.servers import write_script
from support.terraform import write_module

GOOD = """\
routes:
  - name: elb-state
    match: {resource_type: elb, resource_name: "elb-*"}
    terraform: {dir: infra/elb, target_from_event: true, on_failure: warn}
  - name: web-state
    match: {resource_type: [server, server_group_instance]}
    terraform:
      dir: infra/web
      lock_timeout: 2m
      var: {region: is1a}
      var_file: [web.tfvars]
      reconcile_every: 30m
  - name: notify
    match: {phase: post-handle, result: [created, 2, no_change], source: "graf*"}
    executable: {path: hooks/notify.sh, payload_argv: none}
    parallel: true
    timeout: 30s
    kill_after: 2s
"""


def write_site(tmp_path: Path) -> Path:
    """`tmp_path` holding GOOD as tfhook.yaml, the two Terraform modules and the hook it names."""
    write_module(tmp_path / "infra" / "elb", {"main.tf": 'output "x" {\n  value = 1\n}\n'})
    write_module(tmp_path / "infra" / "web", {"main.tf": 'variable "region" {}\n'})
    (tmp_path / "web.tfvars").write_text('region = "is1a"\n')
    (tmp_path / "hooks").mkdir()
    write_script(tmp_path / "hooks" / "notify.sh", "echo hi\n")
    (tmp_path / "tfhook.yaml").write_text(GOOD)
    return tmp_path
