"""tfhook's own settings (TFHOOK_NOTIFY_URLS, TFHOOK_HISTORY_URL, TFHOOK_HISTORY_PASSWORD:
tokens and passwords) reach no child: neither a hook nor Terraform. PGPASSWORD is passed on
(Terraform's pg backend reads it), and so are the hook's own TFHOOK_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.servers import HANG_GUARD, launch, tfhook_command, write_script
from support.terraform import Recorder, TfServer, tf_env

from tfhook.config.env import SETTINGS

OWN = {"TFHOOK_NOTIFY_URLS": "json://user:NotifyTok3n@127.0.0.1:9/x",
       "TFHOOK_HISTORY_URL": "postgresql://tfhook@127.0.0.1:9/db?sslmode=disable",
       "TFHOOK_HISTORY_PASSWORD": "HistoryPassw0rd"}


def _dump(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.mark.slow
def test_hooks_and_terraform_never_see_tfhooks_own_settings(tmp_path: Path) -> None:
    assert set(OWN) == set(SETTINGS)  # every setting tfhook reads from its environment
    recorder = Recorder.create(tmp_path)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text('output "answer" {\n  value = 42\n}\n')
    write_script(tmp_path / "hook.sh", 'env > "$(dirname "$0")/hook.env"\ncat >/dev/null\n'
                 "echo ok\n")
    (tmp_path / "tfhook.yaml").write_text(
        "routes:\n"
        f"  - {{name: state, terraform: {{dir: infra, terraform: {recorder.path}}}}}\n"
        "  - {name: dump, match: {phase: post-handle}, executable: {path: ./hook.sh}}\n")
    sock = tmp_path / "s.sock"
    server = launch(TfServer, tfhook_command("serve", "--routes", "tfhook.yaml",
                                             "--addr", f"unix:{sock}"),
                    cwd=tmp_path, target=f"unix:{sock}", timeout=HANG_GUARD, sock=sock,
                    env=tf_env(**OWN, PGPASSWORD="BackendPassw0rd"))
    try:
        answer = server.call("PostHandle", {"resource_name": "elb", "result": "UPDATED"})
    finally:
        server.close()
    assert answer[-1][0] == "DONE", answer
    hook = _dump(tmp_path / "hook.env")
    engines = [env for _, env in recorder.invocations()]
    assert engines and hook["TFHOOK_ROUTE"] == "dump"
    for env in (hook, *engines):
        assert not set(OWN) & set(env), sorted(set(OWN) & set(env))
        assert env["PGPASSWORD"] == "BackendPassw0rd"
        assert not any(secret in value for value in env.values() for secret in OWN.values())
