# ruff: noqa: E501 - the sample lines are kept exactly as Terraform printed them
"""tfhook.terraform.events against real `-json` lines from the embedded Terraform 1.15.5
(copied from runs of examples/terraform/demo and small modules; shortened only where noted)."""

from __future__ import annotations

from tfhook.terraform.diagnostics import lock_problem
from tfhook.terraform.events import Report, diagnostic, listing

# `apply -refresh-only -json` on the demo after ./simulate-cloud-change 400.
PLAN_100_TO_400 = [
    b'{"@level":"info","@message":"Terraform 1.15.5","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:20.992022Z","terraform":"1.15.5","type":"version","ui":"1.3"}',
    b'{"@level":"info","@message":"data.terraform_remote_state.cloud: Refreshing...","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.004302Z","hook":{"resource":{"addr":"data.terraform_remote_state.cloud","module":"","resource":"data.terraform_remote_state.cloud","implied_provider":"terraform","resource_type":"terraform_remote_state","resource_name":"cloud","resource_key":null},"action":"read"},"type":"apply_start"}',
    b'{"@level":"info","@message":"data.terraform_remote_state.cloud: Refresh complete after 0s","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.005695Z","hook":{"resource":{"addr":"data.terraform_remote_state.cloud","module":"","resource":"data.terraform_remote_state.cloud","implied_provider":"terraform","resource_type":"terraform_remote_state","resource_name":"cloud","resource_key":null},"action":"read","elapsed_seconds":0},"type":"apply_complete"}',
    b'{"@level":"info","@message":"terraform_data.elb: Refreshing state... [id=113300000001]","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.007275Z","hook":{"resource":{"addr":"terraform_data.elb","module":"","resource":"terraform_data.elb","implied_provider":"terraform","resource_type":"terraform_data","resource_name":"elb","resource_key":null},"id_key":"id","id_value":"113300000001"},"type":"refresh_start"}',
    b'{"@level":"info","@message":"terraform_data.elb: Refresh complete [id=113300000001]","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.007353Z","hook":{"resource":{"addr":"terraform_data.elb","module":"","resource":"terraform_data.elb","implied_provider":"terraform","resource_type":"terraform_data","resource_name":"elb","resource_key":null},"id_key":"id","id_value":"113300000001"},"type":"refresh_complete"}',
    b'{"@level":"info","@message":"Plan: 0 to add, 0 to change, 0 to destroy.","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.008993Z","changes":{"add":0,"change":0,"import":0,"remove":0,"action_invocation":0,"operation":"plan"},"type":"change_summary"}',
    b'{"@level":"info","@message":"Outputs: 4","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.009048Z","outputs":{"elb_id":{"sensitive":false,"action":"noop"},"elb_name":{"sensitive":false,"action":"noop"},"elb_plan":{"sensitive":false,"action":"update"},"elb_vip":{"sensitive":false,"action":"noop"}},"type":"outputs"}',
    b'{"@level":"info","@message":"Apply complete! Resources: 0 added, 0 changed, 0 destroyed.","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.013675Z","changes":{"add":0,"change":0,"import":0,"remove":0,"action_invocation":0,"operation":"apply"},"type":"change_summary"}',
    b'{"@level":"info","@message":"Outputs: 4","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:21.013766Z","outputs":{"elb_id":{"sensitive":false,"type":"string","value":"113300000001"},"elb_name":{"sensitive":false,"type":"string","value":"demo-elb"},"elb_plan":{"sensitive":false,"type":"number","value":400},"elb_vip":{"sensitive":false,"type":"string","value":"192.0.2.10"}},"type":"outputs"}',
]
DEMO_BEFORE = {"elb_id": ("113300000001", False), "elb_name": ("demo-elb", False),
               "elb_plan": (100, False), "elb_vip": ("192.0.2.10", False)}

# A syntax error (broken.tf) and a state lock held by another apply (-lock-timeout=2s).
SYNTAX_ERROR = b'{"@level":"error","@message":"Error: Invalid expression","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:41.933854Z","diagnostic":{"severity":"error","summary":"Invalid expression","detail":"Expected the start of an expression, but found an invalid expression token.","range":{"filename":"broken.tf","start":{"line":2,"column":11,"byte":47},"end":{"line":3,"column":1,"byte":48}},"snippet":{"context":"resource \\"terraform_data\\" \\"broken\\"","code":"  input = \\n}","start_line":2,"highlight_start_offset":10,"highlight_end_offset":11,"values":[]}},"type":"diagnostic"}'
LOCK_ACQUIRE = b'{"@level":"info","@message":"Acquiring state lock. This may take a few moments...","@module":"terraform.ui","@timestamp":"2026-11-22T01:19:04Z","type":"state_lock_acquire"}'
LOCKED = b'{"@level":"error","@message":"Error: Error acquiring the state lock","@module":"terraform.ui","@timestamp":"2026-11-22T01:19:05.929789Z","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: resource temporarily unavailable\\nLock Info:\\n  ID:        999ccdfe-c992-6b47-fe66-b99015288d36\\n  Path:      terraform.tfstate\\n  Operation: OperationTypeApply\\n  Who:       root@vm\\n  Version:   1.15.5\\n  Created:   2026-11-22 01:19:00.910349627 +0000 UTC\\n  Info:      \\n\\n\\nTerraform acquires a state lock to protect the state from being written\\nby multiple users at the same time. Please resolve the issue above and try\\nagain. For most commands, you can disable locking with the \\"-lock=false\\"\\nflag, but this is not recommended."},"type":"diagnostic"}'
# -target=terraform_data.elb adds two warnings (details shortened).
TARGET_WARNING = b'{"@level":"warn","@message":"Warning: Resource targeting is in effect","@module":"terraform.ui","@timestamp":"2026-11-22T01:18:41.771897Z","diagnostic":{"severity":"warning","summary":"Resource targeting is in effect","detail":"You are creating a plan with the -target option, which means that the result of this plan may not represent all of the changes requested by the current configuration."},"type":"diagnostic"}'
# An interrupted run logs this (a "log" event, not progress).
INTERRUPT = b'{"@level":"info","@message":"\\nInterrupt received.\\nPlease wait for Terraform to exit or data loss may occur.\\nGracefully shutting down...\\n","@module":"terraform.ui","@timestamp":"2026-11-22T01:19:05.948076Z","type":"log"}'


def sensitive_run(token_action: str) -> list[bytes]:
    """Outputs events of a module with a sensitive output `token` and a plain `plain`:
    Terraform gives the sensitive one's planned action, never its value."""
    return [
        b'{"@level":"info","@message":"Outputs: 2","@module":"terraform.ui","@timestamp":"2026-11-22T01:23:30.343861Z","outputs":{"plain":{"sensitive":false,"action":"update"},"token":{"sensitive":true,"action":"' + token_action.encode() + b'"}},"type":"outputs"}',
        b'{"@level":"info","@message":"Outputs: 2","@module":"terraform.ui","@timestamp":"2026-11-22T01:23:30.346382Z","outputs":{"plain":{"sensitive":false,"type":"string","value":"x-4"},"token":{"sensitive":true,"type":"string"}},"type":"outputs"}',
    ]


def fed(lines: list[bytes]) -> tuple[Report, list[str | None]]:
    report = Report()
    return report, [report.feed(line) for line in lines]


def test_progress_lines_are_the_refresh_messages() -> None:
    _, progress = fed(PLAN_100_TO_400)
    assert progress == [
        None,
        "data.terraform_remote_state.cloud: Refreshing...",
        "data.terraform_remote_state.cloud: Refresh complete after 0s",
        "terraform_data.elb: Refreshing state... [id=113300000001]",
        "terraform_data.elb: Refresh complete [id=113300000001]",
        None, None, None, None,
    ]


def test_report_lists_refreshed_resources_and_version() -> None:
    report, _ = fed(PLAN_100_TO_400)
    assert report.version == "1.15.5"
    assert report.refreshed == ["data.terraform_remote_state.cloud", "terraform_data.elb"]
    assert report.drifted == [] and report.diagnostics == [] and report.other == []
    assert listing("refreshed", report.refreshed) == (
        "refreshed 2: data.terraform_remote_state.cloud, terraform_data.elb")


def test_output_changes_old_to_new() -> None:
    report, _ = fed(PLAN_100_TO_400)
    # The planned outputs event (actions only) must not replace the final values.
    assert report.outputs["elb_plan"]["value"] == 400
    assert report.output_changes(DEMO_BEFORE) == ["elb_plan: 100 → 400"]
    assert report.output_changes({**DEMO_BEFORE, "elb_plan": (400, False)}) == []


def test_new_and_removed_outputs() -> None:
    report, _ = fed(PLAN_100_TO_400)
    before = {k: v for k, v in DEMO_BEFORE.items() if k != "elb_vip"}
    before["gone"] = ("x", False)
    assert report.output_changes(before) == [
        "elb_plan: 100 → 400", 'elb_vip: (new) → "192.0.2.10"', "gone: removed"]


def test_sensitive_values_are_never_shown() -> None:
    before = {"plain": ("x-3", False), "token": ("s3cret", True)}
    report, _ = fed(sensitive_run("update"))
    changes = report.output_changes(before)
    assert changes == ['plain: "x-3" → "x-4"', "token: (sensitive value changed)"]
    assert not any("s3cret" in line for line in changes)


def test_an_unchanged_sensitive_output_is_not_reported_as_changed() -> None:
    # Terraform never prints a sensitive value, so "no value" must not read as "changed".
    report, _ = fed(sensitive_run("noop"))
    assert report.output_changes({"plain": ("x-4", False), "token": ("s3cret", True)}) == []


def test_a_sensitive_value_in_the_state_is_hidden_even_if_terraform_prints_one() -> None:
    line = (b'{"@level":"info","@message":"Outputs: 1","@module":"terraform.ui","@timestamp":'
            b'"2026-11-22T01:18:21.013766Z","outputs":{"token":{"sensitive":false,"type":'
            b'"string","value":"new-secret"}},"type":"outputs"}')
    report, _ = fed([line])
    assert report.output_changes({"token": ("old-secret", True)}) == [
        "token: (sensitive value changed)"]


def test_syntax_error_diagnostic() -> None:
    report, progress = fed([PLAN_100_TO_400[0], SYNTAX_ERROR])
    assert progress == [None, None]
    (error,) = report.errors
    assert (error.summary, error.where) == ("Invalid expression", "broken.tf:2")
    assert error.text() == ("Invalid expression (broken.tf:2)\n  Expected the start of an "
                            "expression, but found an invalid expression token.")
    assert lock_problem(report) is None


def test_lock_error_names_holder_time_and_id() -> None:
    report, _ = fed([PLAN_100_TO_400[0], LOCK_ACQUIRE, LOCKED])
    problem = lock_problem(report)
    assert problem is not None
    assert (problem.message, problem.lock_id) == ("resource temporarily unavailable",
                                                  "999ccdfe-c992-6b47-fe66-b99015288d36")
    assert problem.holder == {
        "ID": "999ccdfe-c992-6b47-fe66-b99015288d36",
        "Path": "terraform.tfstate",
        "Operation": "OperationTypeApply",
        "Who": "root@vm",
        "Version": "1.15.5",
        "Created": "2026-11-22 01:19:00.910349627 +0000 UTC",
        "Info": "",
    }


def test_warnings_log_lines_and_non_json_output() -> None:
    report, progress = fed([TARGET_WARNING, INTERRUPT, b"plain text from a wrapper", b"",
                            b"[1, 2]"])
    assert progress == [None] * 5
    assert [w.summary for w in report.warnings] == ["Resource targeting is in effect"]
    assert report.errors == []
    assert report.other == ["plain text from a wrapper"]


def test_diagnostic_without_a_range_and_long_listings() -> None:
    diag = diagnostic({"severity": "error", "summary": "Backend initialization required",
                       "detail": "\n".join(f"line {n}" for n in range(20))})
    assert diag.where == ""
    assert diag.text().splitlines()[0] == "Backend initialization required"
    assert len(diag.text().splitlines()) == 13  # summary + at most 12 detail lines
    names = [f"r{n}" for n in range(13)]
    assert listing("refreshed", names) == (
        "refreshed 13: r0, r1, r2, r3, r4, r5, r6, r7, r8, r9 and 3 more")
    assert listing("drifted", []) == "drifted: none"


def test_a_plan_is_unchanged_only_when_it_read_to_its_end_and_found_nothing() -> None:
    def report(lines: list[bytes]) -> Report:
        result = Report()
        for line in lines:
            result.feed(line)
        return result

    plan = PLAN_100_TO_400[:6]  # up to the plan's change summary
    nothing = [*plan, PLAN_100_TO_400[6].replace(b'"action":"update"', b'"action":"noop"')]

    assert report(nothing).unchanged
    assert not report(PLAN_100_TO_400[:7]).unchanged  # an output changed
    assert not report(nothing[:5]).unchanged  # no summary: the stream was cut short
    assert not report([*nothing, SYNTAX_ERROR]).unchanged
    # A kind of message this version does not know (a deferred change, an action, ...).
    assert not report([*nothing, b'{"type":"deferred_change","@message":"x"}']).unchanged
    assert not report([*nothing, b'{"type":[1]}']).unchanged  # not even a name: shown
    assert report([*nothing, b'{"type":"ephemeral_op_complete","@message":"x"}']).unchanged
    drift = report(nothing)
    drift.drifted.append("simcloud_elb.main (update)")
    assert not drift.unchanged
