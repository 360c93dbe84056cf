"""A refresh that finds no state (a file cut to 0 bytes, the wrong workspace) for a
configuration that has resources is an error, not `DONE ... refreshed: none`, and changes
nothing. Real servers and Terraform on the simulated cloud (tests/support/simcloud.py)."""

from __future__ import annotations

from pathlib import Path

from support.simcloud import SimCloud, main_tf
from support.terraform import init_and_apply, read_state, updated, wait_for, write_module

from tfhook.terraform import plans

DECLARES = "the configuration declares 2: simcloud_elb.main, simcloud_server.web"
OUTPUTS = 'output "elb_plan" {\n  value = simcloud_elb.main.plan\n}\n'


def _refused(text: str, tf_dir: Path) -> None:
    """The one-line error: what was found, the likely causes, how to apply once."""
    line = text.splitlines()[0]
    assert line.startswith(f"terraform refresh refused in {tf_dir}: the state it read holds "
                           f"no managed resources, yet {DECLARES}. Nothing was changed."), text
    assert "the wrong workspace or backend" in line and "never applied" in line, line
    assert f"apply it once first: tfhook terraform -chdir={tf_dir} apply" in line, line


def test_a_state_cut_to_nothing_is_an_error(simcloud: SimCloud, tf_serve) -> None:
    (simcloud.dir / "terraform.tfstate").write_bytes(b"")
    server = tf_serve(simcloud.dir, env=simcloud.env)  # its start-up checks pass

    error = server.call_error("PostHandle", updated())

    _refused(error.details(), simcloud.dir)
    assert simcloud.state_bytes() == b""
    assert 'event="terraform refresh refused: the state is missing"' in server.log()
    assert server.proc.poll() is None


def test_with_outputs_nothing_is_applied_and_warn_answers_done(make_simcloud, tf_serve
                                                              ) -> None:
    # With an output the empty state's plan has a change (the output's creation) that
    # Terraform would apply, writing a state with no resources.
    cloud = make_simcloud(main_tf=main_tf() + OUTPUTS)
    (cloud.dir / "terraform.tfstate").write_bytes(b"")
    server = tf_serve(cloud.dir, "--on-failure", "warn", env=cloud.env)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE", text
    assert text.startswith("terraform refresh FAILED (on_failure warn"), text
    assert f"yet {DECLARES}. Nothing was changed." in text
    assert cloud.state_bytes() == b""


def test_a_start_up_refresh_of_no_state_fails_and_writes_nothing(simcloud: SimCloud,
                                                                 tf_serve) -> None:
    (simcloud.dir / "terraform.tfstate").write_bytes(b"")

    server = tf_serve(simcloud.dir, "--refresh-on-start", env=simcloud.env)

    wait_for(lambda: "terraform refresh refused: the state is missing" in server.log(),
             timeout=60, what="the start-up refresh to be refused")
    assert simcloud.state_bytes() == b""
    assert server.proc.poll() is None


def test_the_wrong_workspace_is_an_error(simcloud: SimCloud, tf_serve) -> None:
    before = simcloud.state_bytes()
    simcloud.terraform("workspace", "new", "other")  # selects a workspace with no state
    server = tf_serve(simcloud.dir, env=simcloud.env)

    error = server.call_error("PostHandle", updated())

    _refused(error.details(), simcloud.dir)
    assert simcloud.state_bytes() == before
    assert not (simcloud.dir / "terraform.tfstate.d" / "other" / "terraform.tfstate").exists()


def test_a_configuration_without_resources_needs_no_state(tmp_path: Path, tf_serve) -> None:
    tf_dir = write_module(tmp_path / "m", {"main.tf": 'output "a" {\n  value = 1\n}\n'})
    server = tf_serve(tf_dir)

    status, text = server.call("PostHandle", updated())[-1]

    assert status == "DONE", text
    assert "refreshed: none" in text.splitlines(), text


def test_changes_terraform_will_not_apply_are_named() -> None:
    # Terraform before 1.10 makes such plans (output-only changes of a refresh-only plan);
    # the engines here do not, so the saved plan's document is written out.
    plan = {"applyable": False,
            "prior_state": {"values": {"root_module": {"resources": [
                {"address": "simcloud_elb.main", "mode": "managed"}]}}},
            "output_changes": {"x": {"actions": ["update"]}, "y": {"actions": ["no-op"]}}}

    assert plans.missing_state(plan) == ("Terraform calls the refresh plan not applyable, "
                                         "yet it changes 1: output x")
    assert plans.missing_state({**plan, "applyable": True}) == ""


def test_what_the_configuration_declares() -> None:
    configuration = {"root_module": {
        "resources": [{"address": "a.one", "mode": "managed"},
                      {"address": "data.b.two", "mode": "data"},
                      {"address": "a.none", "mode": "managed",
                       "count_expression": {"constant_value": 0}},
                      {"address": "a.some", "mode": "managed",
                       "count_expression": {"references": ["var.n"]}}],
        "module_calls": {"net": {"module": {"resources": [
            {"address": "c.three", "mode": "managed"}]}}}}}

    assert plans.declared({"configuration": configuration}) == ["a.one", "a.some",
                                                                "module.net.c.three"]
    assert plans.missing_state({"configuration": configuration}).endswith(
        "declares 3: a.one, a.some, module.net.c.three")


COUNTED = """variable "n" {
  type    = number
  default = 0
}

resource "terraform_data" "x" {
  count = var.n
  input = "kept"
}
"""


def test_an_applied_state_whose_only_resource_has_no_instance_is_refreshed(
        tmp_path: Path, tf_serve) -> None:
    # `count = var.n` (0): applied, the state has a serial, a lineage and no resources.
    tf_dir = write_module(tmp_path / "m", {"main.tf": COUNTED})
    init_and_apply(tf_dir)
    before = (tf_dir / "terraform.tfstate").read_bytes()
    assert read_state(tf_dir)["serial"] == 1 and read_state(tf_dir)["resources"] == []
    server = tf_serve(tf_dir)

    replies = [server.call("PostHandle", updated())[-1] for _ in range(2)]

    assert [status for status, _ in replies] == ["DONE", "DONE"], replies
    assert all("refreshed: none" in text.splitlines() for _, text in replies), replies
    assert (tf_dir / "terraform.tfstate").read_bytes() == before


def test_a_counted_resource_with_instances_still_needs_its_state(tmp_path: Path,
                                                                 tf_serve) -> None:
    # The same module given n = 2 declares two instances: a state cut to nothing is refused.
    tf_dir = write_module(tmp_path / "m", {"main.tf": COUNTED,
                                           "n.auto.tfvars": "n = 2\n"})
    init_and_apply(tf_dir)
    (tf_dir / "terraform.tfstate").write_bytes(b"")
    server = tf_serve(tf_dir)

    error = server.call_error("PostHandle", updated())

    assert "the state it read holds no managed resources, yet the configuration declares " \
           "1: terraform_data.x. Nothing was changed." in error.details(), error.details()
    assert (tf_dir / "terraform.tfstate").read_bytes() == b""


def test_variables_of_no_instance_leave_resources_out() -> None:
    def resource(address: str, key: str, ref: str) -> dict[str, object]:
        return {"address": address, "mode": "managed", key: {"references": [ref]}}

    configuration = {"root_module": {
        "resources": [resource("a.counted", "count_expression", "var.n"),
                      resource("a.each", "for_each_expression", "var.s"),
                      resource("a.many", "count_expression", "var.m"),
                      resource("a.unknown", "count_expression", "var.u"),
                      resource("a.local", "count_expression", "local.n")],
        "module_calls": {
            "off": {"expressions": {"k": {"constant_value": 0}},
                    "module": {"resources": [resource("c.one", "count_expression", "var.k")],
                               "variables": {"k": {"default": 5}}}},
            "default": {"module": {"resources": [resource("c.two", "count_expression",
                                                          "var.k")],
                                   "variables": {"k": {"default": 5}}}},
            "none": {"count_expression": {"references": ["var.n"]},
                     "module": {"resources": [{"address": "c.three", "mode": "managed"}]}}}}}
    variables = {"n": {"value": 0}, "s": {"value": []}, "m": {"value": 3}}

    assert plans.declared({"configuration": configuration, "variables": variables}) == [
        "a.local", "a.many", "a.unknown", "module.default.c.two"]
