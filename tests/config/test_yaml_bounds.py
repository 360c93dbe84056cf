"""What a routes file or --config may expand to and hold: an alias bomb, /dev/zero or a huge
file is one error line (exit 2), and on SIGHUP the old routes stay and calls are answered."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest
from support.servers import HANG_GUARD, launch, run_tfhook, tfhook_command, wait_for, write_script
from support.terraform import TfServer, tf_env

from tfhook.config import yamlfile


def bomb(levels: int = 9) -> str:
    """A route whose match holds 9^levels names through `&aN [*aN-1 x9]` anchors: a few
    hundred bytes that stand for 387 million values."""
    lists = ["&a0 [" + ", ".join(["lol"] * 9) + "]"]
    lists += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return ("routes:\n  - name: a\n    x-anchors: [" + ", ".join(lists) + "]\n"
            f"    match: {{resource_name: *a{levels - 1}}}\n    executable: {{path: a.sh}}\n")


TOO_MANY = (f"bomb.yaml: stands for more than {yamlfile.MAX_VALUES:,} values (aliases counted "
            "each time they are used); write it out without aliases")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_script(tmp_path / "a.sh", "cat >/dev/null; echo a\n")
    (tmp_path / "bomb.yaml").write_text(bomb())
    (tmp_path / "huge.yaml").write_text("# padding\n" * (yamlfile.MAX_BYTES // 10 + 1))
    return tmp_path


@pytest.mark.parametrize(("command", "file", "problem"), [
    (["routes", "check"], "bomb.yaml", TOO_MANY),
    (["serve", "--addr", "unix:s.sock", "--routes"], "bomb.yaml", TOO_MANY),
    (["serve", "--addr", "unix:s.sock", "--executable-path", "a.sh", "--config"], "bomb.yaml",
     f"--config: {TOO_MANY}"),
    (["routes", "check"], "/dev/zero", "/dev/zero: cannot read: not a regular file"),
    (["serve", "--addr", "unix:s.sock", "--executable-path", "a.sh", "--config"], "/dev/zero",
     "--config: /dev/zero: cannot read: not a regular file"),
    (["routes", "check"], "huge.yaml", "huge.yaml: too large (more than 1 MiB)"),
])
def test_what_a_yaml_file_may_hold_is_bounded(site: Path, command: list[str], file: str,
                                              problem: str) -> None:
    result = run_tfhook([*command, file], cwd=site)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"tfhook: error: {problem}\n"
    assert not (site / "s.sock").exists()


@pytest.mark.slow
def test_a_file_just_under_the_bounds_is_read(tmp_path: Path) -> None:
    # 99,998 values (a mapping, its key, a list, the list in it and its items), 1 MiB exactly.
    text = "routes:\n  - [" + ", ".join(["x"] * 99_994) + "]\n"
    text += "#" * (yamlfile.MAX_BYTES - len(text) - 1) + "\n"
    (tmp_path / "ok.yaml").write_text(text)
    assert yamlfile.read(tmp_path / "ok.yaml") == {"routes": [["x"] * 99_994]}


def test_sighup_with_an_alias_bomb_keeps_the_old_routes_and_answers(site: Path) -> None:
    (site / "tfhook.yaml").write_text(
        "routes:\n  - {name: a, match: {phase: post-handle}, executable: {path: a.sh}}\n")
    sock = site / f"s-{uuid.uuid4().hex[:6]}.sock"
    server = launch(TfServer, tfhook_command("serve", "--routes", "tfhook.yaml", "--addr",
                                             f"unix:{sock}"),
                    cwd=site, target=f"unix:{sock}", env=tf_env(), timeout=HANG_GUARD, sock=sock)
    try:
        (site / "tfhook.yaml").write_text(bomb())
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "routes file not reloaded" in server.log(), HANG_GUARD,
                 "the refused reload")
        assert f"tfhook.yaml: stands for more than {yamlfile.MAX_VALUES:,} values" in server.log()
        answer = server.call("PostHandle", {"resource_name": "elb", "result": "UPDATED"})
        assert answer == [("DONE", "a\n")]
        assert server.proc.poll() is None
    finally:
        server.close()
