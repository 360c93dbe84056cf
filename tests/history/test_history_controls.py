"""`tfhook history` shows a caller's strings, never obeys them: control characters written out."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from support.servers import HANG_GUARD, tfhook_command, write_script

from tfhook.v1 import handler_pb2 as pb

DONE = pb.HandleResponse.DONE
# Everything a terminal would act on: C0 but newline, DEL, C1, the Unicode line separators.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
JOB = "job\x1b[31m-red\r\n7  FAKE ROW\x00\x08\t"
NAME = "elb\x9b2J\u2028x\x7f"
SOURCE = "graf\x1b]0;title\x07ana\r"
# The hook's output has lines of its own (kept as lines) and an escape sequence (written out).
HOOK = "cat >/dev/null\nprintf 'first\\r\\n\\033[2Jsecond\\n'\n"


def tfhook(*args: str, cwd: Path) -> str:
    done = subprocess.run(tfhook_command(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


def test_history_writes_control_characters_out(tmp_path: Path, serve) -> None:
    state = tmp_path / "state"
    hook = write_script(tmp_path / "hook", HOOK)
    served = serve("--executable-path", str(hook), "--state-dir", str(state))
    request = pb.PostHandleRequest(result=1, scaling_job_id=JOB, source=SOURCE)
    request.current.elb.name = NAME
    request.resource_name = NAME
    assert [a.status for a in served.call("PostHandle", request, timeout=HANG_GUARD)] == [DONE]
    served.stop()

    table = tfhook("history", "--state-dir", str(state), cwd=tmp_path)
    assert not RAW.search(table), repr(table)
    header, row = table.splitlines()
    assert header.startswith("ID  TIME")  # one line per row: no newline got through
    assert row.split("  ")[3] == "elb elb\\x9b2J\\u2028x\\x7f"  # RESOURCE: type and name
    assert row.endswith("  \\x1b[2Jsecond")  # SUMMARY: the output's last line
    shown = tfhook("history", "--state-dir", str(state), "show", "1", cwd=tmp_path)
    assert not RAW.search(shown), repr(shown)
    lines = shown.splitlines()
    assert "scaling_job_id: job\\x1b[31m-red\\x0d\\x0a7  FAKE ROW\\x00\\x08\\x09" in lines
    assert "resource_name: elb\\x9b2J\\u2028x\\x7f" in lines
    assert "source: graf\\x1b]0;title\\x07ana\\x0d" in lines
    at = lines.index("output: ")
    assert lines[at + 1:at + 3] == ["    DONE: first", "    \\x1b[2Jsecond"]
    # --json stays as it is: JSON escapes them, and a reader gets the strings back exactly.
    [stored] = json.loads(tfhook("history", "--state-dir", str(state), "--json", cwd=tmp_path))
    assert (stored["scaling_job_id"], stored["resource_name"], stored["source"]) == (
        JOB, NAME, SOURCE)
