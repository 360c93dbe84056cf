"""Plan files (they hold the state: secrets): named for their tfhook, and those a tfhook
killed outright left are removed by the next one to start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from google.protobuf import json_format
from support.servers import write_script
from support.terraform import updated, write_module

from tfhook.terraform import planfiles
from tfhook.v1 import handler_pb2 as pb


def _gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid  # reaped: no process has it (a new one taking it at once is unlikely)


def test_sweep_removes_only_the_plans_of_tfhooks_that_are_gone(tmp_path: Path) -> None:
    gone = tmp_path / f"tfhook-plan-{_gone_pid()}-abc"
    live = tmp_path / f"tfhook-plan-{os.getpid()}-def"
    other = tmp_path / "tfhook-plan-xyz"  # not named for a tfhook: not ours to judge
    for path in (gone, live, other):
        path.mkdir()
        (path / "refresh.tfplan").write_text("state and variables")

    assert planfiles.sweep(tmp_path) == [gone]
    assert (not gone.exists(), live.exists(), other.exists()) == (True, True, True)


def test_a_plan_lives_in_a_private_directory_named_for_this_tfhook(tmp_path: Path,
                                                                   tf_serve) -> None:
    # The engine notes where Terraform was asked to write its plan, then runs it.
    seen = tmp_path / "plan-dirs"
    engine = write_script(tmp_path / "engine", f"""
for arg in "$@"; do
  case "$arg" in -out=*) dir=$(dirname "${{arg#-out=}}"); stat -c '%a %n' "$dir" >> {seen};;
  esac
done
exec "{sys.executable}" -m tfhook.terraform.embedded "$@"
""")
    tf_dir = write_module(tmp_path / "mod", {"main.tf": 'output "a" {\n  value = 1\n}\n'})
    stale = Path(os.environ.get("TMPDIR", "/tmp")) / f"tfhook-plan-{_gone_pid()}-stale"
    stale.mkdir()
    try:
        server = tf_serve(tf_dir, engine=str(engine))
        status, text = server.call("PostHandle", updated())[-1]
    finally:
        stale_left = stale.exists()
        if stale_left:
            stale.rmdir()
    assert status == "DONE", text
    assert not stale_left  # removed as the directory started
    modes = [line.split() for line in seen.read_text().splitlines()]
    assert modes and all(mode == "700" for mode, _ in modes)
    assert all(Path(path).name.startswith(f"tfhook-plan-{server.proc.pid}-")
               for _, path in modes)
    assert all(not Path(path).exists() for _, path in modes)  # removed after the plan


def test_route_variables_reach_terraform_in_a_private_file_not_argv(tmp_path: Path,
                                                                    serve) -> None:
    # The engine writes down its argv and the mode of each variables file and of its
    # directory (the file is gone once the plan is done), then runs Terraform.
    seen = tmp_path / "seen"
    engine = write_script(tmp_path / "engine", f"""
printf '%s\\n' "$@" >> {seen}/argv
for arg in "$@"; do
  case "$arg" in -var-file=*) f="${{arg#-var-file=}}"
    stat -c '%a' "$f" "$(dirname "$f")" | tr '\\n' ' ' >> {seen}/modes; echo "$f" >> {seen}/modes;;
  esac
done
exec "{sys.executable}" -m tfhook.terraform.embedded "$@"
""")
    seen.mkdir()
    tf_dir = write_module(tmp_path / "mod", {"main.tf": (
        'variable "secret" {\n  type = string\n}\n\nvariable "count_of" {\n  type = number\n}\n\n'
        'output "shown" {\n  value = "${var.secret} ${var.count_of + 1}"\n}\n')})
    (tmp_path / "file.tfvars").write_text('secret = "from-the-file"\ncount_of = 1\n')
    secret = 'p4ss ${x} %{y} $${z} "q" é'
    (tmp_path / "tfhook.yaml").write_text(json.dumps({"routes": [{"name": "t", "terraform": {
        "dir": str(tf_dir), "terraform": str(engine), "var_file": ["file.tfvars"],
        "var": {"secret": secret, "count_of": "41"}}}]}))
    server = serve("--routes", str(tmp_path / "tfhook.yaml"))

    answers = server.call("PostHandle", json_format.ParseDict(updated(), pb.PostHandleRequest()))

    assert answers[-1].status == pb.HandleResponse.DONE, answers
    # The route's value wins over the var_file's, as -var did: it reaches Terraform whole.
    assert json.dumps(f"{secret} 42", ensure_ascii=False) in answers[-1].log, answers[-1].log
    argv = (seen / "argv").read_text()
    # No value in any argument (a pid in a path may hold the digits 41: look for the values).
    assert "p4ss" not in argv and "count_of" not in argv and "=41" not in argv
    modes = [line.split() for line in (seen / "modes").read_text().splitlines()]
    ours = [(file_mode, dir_mode) for file_mode, dir_mode, path in modes
            if Path(path).name == planfiles.VARIABLES]
    assert ours and set(ours) == {("600", "700")}, modes
    # Ours stands where -var stood, after the user's files (a later file wins); it is
    # removed with its plan directory.
    files = [line.split("=", 1)[1] for line in argv.splitlines() if line.startswith("-var-file=")]
    assert files[0::2] == [str(tmp_path / "file.tfvars")] * (len(files) // 2), files
    assert [Path(f).name for f in files[1::2]] == [planfiles.VARIABLES] * (len(files) // 2)
    assert len(files) >= 4 and not any(Path(f).exists() for f in files[1::2])
