"""What the operator-command tests share: `tfhook` as a user runs it, a hook server with a
history, and a request full of secrets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from support.servers import HANG_GUARD, Served, tfhook_command, write_script

GOLDEN = Path(__file__).parents[1] / "golden" / "vectors.jsonl"
ECHO = "cat\n"  # answers with the request it got (secrets included)
# Fails for requests from source "fail", printing its request to stderr first.
PICKY = """\
case "$1" in *'"source":"fail"'*) printf '%s\\n' "$1" >&2; echo oops >&2; exit 3;; esac
echo "refreshed $2"
"""


def tfhook(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tfhook_command(*args), cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=HANG_GUARD, check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def vector(name: str) -> dict[str, Any]:
    with GOLDEN.open(encoding="utf-8") as lines:
        return next(v for v in map(json.loads, lines) if v["name"] == name)


def start(serve, tmp_path: Path, state: Path, body: str, *args: str) -> Served:
    hook = write_script(tmp_path / "hook", body)
    return serve("--executable-path", str(hook), "--state-dir", str(state), *args)


def history(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return tfhook("history", "--state-dir", str(state), *args, cwd=state.parent)


def history_json(state: Path, *args: str) -> list[dict[str, Any]]:
    out = history(state, "--json", *args)
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


PASSWORD = "Pw-of-the-test-9731<&>"
SSH_KEY = "ssh-ed25519 AAAAC3NzaTESTKEYxyzzy operator@host"
CLOUD = "#cloud-config\nchpasswd: {list: 'root:CloudSecret-5521'}"


def secret_request(source: str) -> str:
    return json.dumps({
        "source": source, "resource_name": "web", "scaling_job_id": "job-s", "result": 2,
        "current": {"Resource": {"ServerGroupInstance": {
            "name": "web-01",
            "edit_parameter": {"host_name": "web-01", "password": PASSWORD, "ssh_keys": [SSH_KEY],
                               "startup_scripts": ["#!/bin/sh\necho ScriptSecret-8812\n"]},
            "cloud_config": CLOUD}}}})


SECRETS = (PASSWORD, "Pw-of-the-test-9731", "AAAAC3NzaTESTKEYxyzzy", "CloudSecret-5521",
           "ScriptSecret-8812")
