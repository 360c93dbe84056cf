"""A failed hook's stderr tail: a secret in it is scrubbed whole, also where the tail cuts it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import grpc
import pytest
from support.servers import HANG_GUARD, tfhook_command, write_script

from tfhook.v1 import handler_pb2 as pb

PASSWORD = "Qz7-Secret-Pass-4821"  # no `x` in it: the filler cannot match a fragment
# The password from the request, then 2,040 bytes on the same line: the 2,048-byte tail
# begins in the middle of the password.
STRADDLE = """\
pw=$(sed -n 's/.*"password":"\\([^"]*\\)".*/\\1/p')
printf 'PW=%s' "$pw" >&2
head -c 2040 /dev/zero | tr '\\0' x >&2
exit 3
"""


def fragments(secret: str, size: int = 4) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def test_a_password_cut_by_the_tail_is_not_shown_in_part(tmp_path: Path, serve) -> None:
    state = tmp_path / "state"
    hook = write_script(tmp_path / "hook", STRADDLE)
    served = serve("--executable-path", str(hook), "--state-dir", str(state))
    request = pb.PostHandleRequest(result=1, scaling_job_id="job-cut")
    request.current.server_group_instance.edit_parameter.password = PASSWORD
    with pytest.raises(grpc.RpcError) as info:
        served.call("PostHandle", request, timeout=HANG_GUARD)
    details = info.value.details()
    assert "returned non zero status: exit status 3" in details
    # Scrubbed first (`PW=[redacted]xxx…`), then cut: the cut falls in the marker.
    assert details.endswith("\nstderr:\n…edacted]" + "x" * 2040), details[:300]
    served.stop()
    shown = subprocess.run(tfhook_command("history", "--state-dir", str(state), "--json"),
                           capture_output=True, text=True, timeout=HANG_GUARD, check=True)
    [row] = json.loads(shown.stdout)
    assert row["outcome"] == "failed" and row["error"].endswith("…edacted]" + "x" * 2040)
    with sqlite3.connect(state / "history.sqlite3") as conn:
        stored = repr(conn.execute("SELECT * FROM calls").fetchall())
    log = served.log()
    assert "call failed" in log
    for text in (details, log, row["error"], stored):
        assert not [part for part in fragments(PASSWORD) if part in text]
