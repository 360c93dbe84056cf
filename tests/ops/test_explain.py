"""`tfhook routes explain` (ops/explain.py): which routes a request would run and why the others
would not; it reads requests as `send` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.routes import write_site
from support.servers import run_tfhook


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path)


GO_JSON = ('{"source":"grafana","resource_name":"elb-1","scaling_job_id":"job-1","result":2,'
           '"current":{"Resource":{"Elb":{"id":"113300000001","plan":400}}}}')


def explain(site: Path, request: str, *args: str) -> tuple[int, list[str], str]:
    result = run_tfhook(["routes", "explain", "tfhook.yaml", "--from-json", request, *args],
                        cwd=site)
    return result.returncode, result.stdout.splitlines(), result.stderr


def test_explain_names_the_routes_that_run_and_why_the_others_do_not(site: Path) -> None:
    (site / "request.json").write_text(GO_JSON)
    code, lines, _ = explain(site, "request.json")
    assert code == 0
    assert lines == [
        "PostHandle elb 'elb-1' (source 'grafana', result updated)",
        "run   elb-state",
        "skip  web-state: resource_type elb is not one of server, server_group_instance",
        "run   notify (parallel)",
    ]


CONTRADICTIONS = [
    ('{"instruction":1,"current":{"Resource":{"Elb":{}}}}', ["--phase", "post-handle"],
     'not a PostHandle request: Message type "autoscaler.PostHandleRequest" has no field named '
     '"instruction"'),
    ('{"result":2}', ["--phase", "handle"],
     'not a Handle request: Message type "autoscaler.HandleRequest" has no field named "result"'),
    ('{"current":{"Resource":{"Bogus":{}}}}', [],
     'not a PostHandle request: Failed to parse current field: Message type '
     '"autoscaler.Resource" has no field named "bogus"'),
]


@pytest.mark.parametrize("request_json,args,message", CONTRADICTIONS,
                         ids=["instruction-on-post", "result-on-handle", "unknown-resource"])
def test_explain_rejects_what_send_rejects(site: Path, request_json: str, args: list[str],
                                           message: str) -> None:
    (site / "request.json").write_text(request_json)
    code, lines, error = explain(site, "request.json", *args)
    assert (code, lines) == (2, [])
    assert error.startswith(f"tfhook: error: request.json: {message}"), error
    # `tfhook send` reads the request with the same parser: the same words, before it dials.
    phase = args[1] if args else "post-handle"
    sent = run_tfhook(["send", phase, "--from-json", "request.json", "--addr",
                       f"unix:{site}/nothing.sock"], cwd=site)
    assert (sent.returncode, sent.stderr) == (2, error)


@pytest.mark.parametrize("request_json,fields", [
    ('{"instruction":1,"desired":{"Resource":{"Elb":{}}},"current":{"Resource":{"Elb":{}}}}',
     "desired, instruction (PreHandle or Handle) and current (PostHandle)"),
    ('{"resourceName":"web-1","instruction":"UPDATE","result":"UPDATED"}',
     "instruction (PreHandle or Handle) and result (PostHandle)"),
], ids=["go-json", "protobuf-json"])
def test_explain_asks_for_the_phase_when_the_fields_contradict(site: Path, request_json: str,
                                                               fields: str) -> None:
    (site / "request.json").write_text(request_json)
    code, lines, error = explain(site, "request.json")
    assert (code, lines) == (2, [])
    assert error == (f"tfhook: error: request.json: the request has {fields}: give --phase "
                     "pre-handle, handle or post-handle to say which it is\n")


def test_explain_reads_protobuf_json_and_asks_for_the_phase_when_it_must(site: Path) -> None:
    proto = json.dumps({"source": "grafana", "resourceName": "web-1", "instruction": "UPDATE",
                        "desired": {"serverGroupInstance": {"id": "1"}}})
    code, _, error = explain(site, proto)
    assert code == 2
    assert error.startswith("tfhook: error: --from-json: the request does not say its phase")
    code, lines, _ = explain(site, proto, "--phase", "handle")
    assert code == 0
    assert lines == [
        "Handle server_group_instance 'web-1' (source 'grafana', instruction update)",
        "skip  elb-state: phase handle is not post-handle",
        "skip  web-state: phase handle is not post-handle",
        "skip  notify: phase handle is not post-handle",
        "no route runs: the call is answered IGNORED",
    ]
