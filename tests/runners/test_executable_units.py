"""The executable runner's pure parts, without a server: the request as argv[1] by payload_argv
mode and under its limit, and the environment a hook gets."""

from __future__ import annotations

from tfhook.core.model import Phase
from tfhook.runners.executable import ARGV_LIMIT, hook_environment, request_argument
from tfhook.server.wire import event_from_proto, go_json
from tfhook.v1 import handler_pb2 as pb


def test_argv_modes_and_their_limit() -> None:
    request = go_json(pb.PostHandleRequest(source="s", result=1))
    assert request_argument(request) == request.decode()
    assert request_argument(request, "none") == "-"
    assert request_argument(request, "redacted") == request.decode()  # nothing secret in it
    # Redaction can lengthen a request ("[redacted]" for a short password): the limit holds.
    big = pb.PostHandleRequest()
    big.current.server_group_instance.edit_parameter.ssh_keys.extend(["k"] * 30_000)
    big.current.server_group_instance.description = "d" * (ARGV_LIMIT - 1000)
    assert len(go_json(big)) > ARGV_LIMIT
    assert request_argument(go_json(big), "redacted") == "-"


def test_hook_environment_names_the_call() -> None:
    handle = pb.HandleRequest(resource_name="n" * 10_000, scaling_job_id="job", instruction=3)
    handle.desired.elb.id = "1"
    env = hook_environment(event_from_proto(handle, Phase.HANDLE), "web")
    assert env == {"TFHOOK_PHASE": "handle", "TFHOOK_JOB_ID": "job",
                   "TFHOOK_RESOURCE_NAME": "n" * 4096, "TFHOOK_RESOURCE_TYPE": "elb",
                   "TFHOOK_ROUTE": "web", "TFHOOK_INSTRUCTION": "DELETE"}
    post = event_from_proto(pb.PostHandleRequest(result=9), Phase.POST_HANDLE)
    assert hook_environment(post, "x")["TFHOOK_RESULT"] == "9"  # a code outside the enum
