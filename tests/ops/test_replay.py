"""`tfhook send --replay` (ops/replay.py): a recorded request sent again, without its secrets."""

from __future__ import annotations

from pathlib import Path

from support.operate import ECHO, history_json, secret_request, start, tfhook


def test_replay_sends_a_recorded_request_without_its_secrets(serve, tmp_path: Path,
                                                             state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO, "--history-requests")
    tfhook("send", "post-handle", "--addr", served.target, "--from-json", "-", cwd=tmp_path,
           stdin=secret_request("grafana"))

    again = tfhook("send", "--replay", "1", "--state-dir", str(state), "--addr", served.target,
                   cwd=tmp_path)

    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == ('DONE  {"source":"grafana","resource_name":"web","scaling_job_id":'
                            '"job-s","result":2,"current":{"Resource":{"ServerGroupInstance":'
                            '{"name":"web-01"}}}}\n')
    assert [r["request"] is not None for r in history_json(state)] == [True, True]


def test_replay_needs_a_stored_request(serve, tmp_path: Path, state: Path) -> None:
    served = start(serve, tmp_path, state, ECHO)
    tfhook("send", "post-handle", "--addr", served.target, cwd=tmp_path)
    out = tfhook("send", "--replay", "1", "--state-dir", str(state), "--addr", served.target,
                 cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == ("tfhook: error: --replay: call 1 was recorded without its request "
                          "(the server keeps requests with --history-requests)\n")
    assert history_json(state)[0]["request"] is None
