"""Stopping the server: a second signal stops it at once, and the calls it cut short are
recorded and logged as cut short by the server, not as left by their client."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from support.servers import run_tfhook, tfhook_command, wait_for, write_script

SLEEPER = 'echo $$ > "$(dirname "$0")/hook.pid"\nexec sleep 120\n'


def test_a_second_sigterm_records_and_logs_its_calls_as_cut_short_by_the_server(
        serve, tmp_path: Path) -> None:
    hook = write_script(tmp_path / "hook", SLEEPER)
    state = tmp_path / "state"
    served = serve("--executable-path", str(hook), "--state-dir", str(state), "--grace", "60s")
    sender = subprocess.Popen(tfhook_command("send", "post-handle", "--addr", served.target,
                                             "--job-id", "job-cut"),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    wait_for((tmp_path / "hook.pid").exists, timeout=60, what="the hook")
    served.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: 'event=stopping' in served.log(), timeout=60, what="the graceful stop")
    assert served.stop(signal.SIGTERM, timeout=60) == 0
    sender.communicate(timeout=60)

    [failed] = [line for line in served.log().splitlines() if 'event="call failed"' in line]
    assert "job=job-cut" in failed and "outcome=cancelled" in failed, failed
    assert "the server is stopping (stopped at once by a second SIGTERM)" in failed, failed
    assert "client went away" not in served.log()
    listed = run_tfhook(["history", "--state-dir", str(state), "--json"], cwd=tmp_path)
    [row] = json.loads(listed.stdout)
    assert (row["scaling_job_id"], row["outcome"]) == ("job-cut", "cancelled"), row
    assert "the server is stopping (stopped at once by a second SIGTERM)" in row["error"], row
