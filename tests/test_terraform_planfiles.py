"""Plan files (they hold the state: secrets): named for their tfhook, and those a tfhook
killed outright left are removed by the next one to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import write_script
from terraform_helpers import updated, write_module

from tfhook.terraform import planfiles


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
exec "{sys.executable}" -m tfhook._embedded "$@"
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
