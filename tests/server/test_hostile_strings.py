"""Any string a request may carry (NUL, ESC, line separators…) reaches a real hook through a
real server: the hook runs, its stdin and argv[1] are the exact Go JSON, its environment and
the log hold every control character escaped, and every log record stays one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis (a dev dependency) is missing")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from support.requests import TEXT, messages  # noqa: E402
from support.servers import write_script  # noqa: E402

from tfhook.server.wire import go_json  # noqa: E402
from tfhook.v1 import handler_pb2 as pb  # noqa: E402

DONE = pb.HandleResponse.DONE
# The hook records argv[1], stdin and the two variables that come from the request.
HOOK = """\
d="$(dirname "$0")"
printf '%s' "$1" > "$d/argv1"
cat > "$d/stdin"
printf '%s' "$TFHOOK_JOB_ID" > "$d/job"
printf '%s' "$TFHOOK_RESOURCE_NAME" > "$d/resource"
echo recorded
"""
# Not allowed raw in a log: control characters but the newline ending each record, DEL,
# C1, and the Unicode line and paragraph separators.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
QUICK = settings(max_examples=40, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def calls(draw):
    """(rpc, request): any request, with every top-level string set to any text."""
    post = draw(st.booleans())
    request = draw(messages((pb.PostHandleRequest if post else pb.HandleRequest).DESCRIPTOR))
    for name in ("source", "resource_name", "scaling_job_id"):
        setattr(request, name, draw(TEXT))
    return ("PostHandle" if post else draw(st.sampled_from(["PreHandle", "Handle"]))), request


def env_oracle(text: str) -> bytes:
    """The environment's form: C0 controls and DEL as \\xNN, written out by hand."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or c == "\x7f" else c
                   for c in text).encode()


def log_oracle(text: str) -> str:
    """The log's form of a value: controls but newline as \\xNN, separators as \\uNNNN."""
    out = []
    for char in text:
        code = ord(char)
        if char != "\n" and (code < 0x20 or 0x7F <= code <= 0x9F):
            out.append(f"\\x{code:02x}")
        elif char in "\u2028\u2029":
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
def test_any_string_in_any_field_runs_the_hook(tmp_path: Path, serve, log_format) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_script(site / "record", HOOK)
    (site / "tfhook.yaml").write_text(
        "routes:\n  - {name: rec, executable: {path: record, payload_argv: full}}\n")
    server = serve("--routes", str(site / "tfhook.yaml"), "--log-format", log_format,
                   "--log-level", "debug")
    seen = 0

    @QUICK
    @given(calls())
    def check(call) -> None:
        nonlocal seen
        rpc, request = call
        answers = server.call(rpc, request)
        assert answers == [pb.HandleResponse(scaling_job_id=request.scaling_job_id,
                                             status=DONE, log="recorded\n")]
        assert (site / "stdin").read_bytes() == go_json(request)
        assert (site / "argv1").read_bytes() == go_json(request)
        assert (site / "job").read_bytes() == env_oracle(request.scaling_job_id)
        assert (site / "resource").read_bytes() == env_oracle(request.resource_name)
        log = server.log()
        assert not RAW_CONTROL.search(log), [m.group() for m in RAW_CONTROL.finditer(log)]
        if log_format == "json":
            records = [json.loads(line) for line in log.splitlines()]
            started = [r for r in records if r["event"] == "call started"][-1]
            assert (started["resource"], started["job"], started["source"]) == (
                log_oracle(request.resource_name), log_oracle(request.scaling_job_id),
                log_oracle(request.source))
        seen += 1

    check()
    assert seen >= 30
