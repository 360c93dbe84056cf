"""`make demo`: tfhook end to end on this machine, in both modes, with real processes.

1. Generic mode: serve an example hook, send one PostHandle, show what the hook received.
2. Terraform mode: serve a copy of examples/terraform/demo, change the simulated cloud
   (ELB plan 100 -> 400), send one UPDATED event, show the stream and the refreshed state.
   With the simcloud provider installed (`make simcloud`: examples/simcloud, a stand-in for
   the cloud API only), the module is examples/terraform/demo/simcloud: the ELB really drifts,
   its plan is `var.elb_plan`, and the route converges (#22): tfhook warns that the next apply
   would revert the plan, writes 400 into autoscaler.auto.tfvars.json, and a plain
   `terraform plan` then has no changes. Without it, the built-in module, where nothing drifts
   (only an output changes).
Uses `terraform` or `tofu` from PATH when there is one, else the embedded Terraform.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tfhook.ops import client

HERE = Path(__file__).resolve().parent
# `make simcloud` installs it there; TFHOOK_SIMCLOUD_DIR names another directory.
PROVIDER = Path(os.environ.get("TFHOOK_SIMCLOUD_DIR") or HERE.parent / ".venv-simcloud" / "bin"
                ) / "terraform-provider-simcloud"
EVENT = {
    "source": "demo", "resource_name": "elb", "scaling_job_id": "demo-job-1",
    "result": "UPDATED",
    "current": {"elb": {"id": "113300000001", "region": "is1", "plan": 400, "name": "demo-elb"}},
}


def step(text: str) -> None:
    """A heading, bold on a terminal only (`make demo | cat -v` shows no escapes)."""
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}== {text}{plain}", flush=True)


def tfhook(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tfhook", *args], check=True, text=True,
                          **kwargs)  # type: ignore[call-overload]


def serve(args: list[str], sock: Path, log: Path) -> subprocess.Popen[bytes]:
    # The demo's history lives beside its socket, not in the operator's own state directory.
    state = sock.parent / "state"
    server = subprocess.Popen([sys.executable, "-m", "tfhook", "serve", "--addr", f"unix:{sock}",
                               "--state-dir", str(state), *args], stderr=log.open("wb"))
    deadline = time.monotonic() + 60
    while not sock.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"server did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return server


def stop(server: subprocess.Popen[bytes], sock: Path) -> None:
    server.terminate()
    server.wait(timeout=30)
    print(f"server stopped (exit {server.returncode}); socket removed: {not sock.exists()}")


def show_stream(sock: Path) -> None:
    for status, log in client.call(f"unix:{sock}", "PostHandle",
                                   client.request("PostHandle", EVENT), timeout=120):
        print(f"  {status}: " + log.replace("\n", "\n      "))


def generic(work: Path) -> None:
    step("generic mode: tfhook serve --executable-path examples/hooks/show-request")
    sock, received = work / "generic.sock", work / "received.json"
    os.environ["DEMO_RECEIVED"] = str(received)  # the hook inherits the server's environment
    server = serve(["--executable-path", str(HERE / "hooks" / "show-request"),
                    "--handler-type", "post-handle"], sock, work / "generic.log")
    try:
        show_stream(sock)
        print(f"the hook received (argv[1] and stdin, identical):\n  {received.read_text()}")
    finally:
        stop(server, sock)


def start_provider(work: Path) -> subprocess.Popen[str] | None:
    """The simcloud provider, kept running for Terraform to reattach to; None if missing."""
    if not os.access(PROVIDER, os.X_OK):
        return None
    provider = subprocess.Popen([str(PROVIDER), "--reattach", str(work / "simcloud.sock")],
                                stdout=subprocess.PIPE, text=True)
    assert provider.stdout is not None
    line = provider.stdout.readline().strip()
    if not line.startswith("{"):
        provider.terminate()
        provider.wait()
        sys.exit(f"{PROVIDER} --reattach did not start (its error is above)")
    os.environ["TF_REATTACH_PROVIDERS"] = line  # Terraform children inherit it
    return provider


def terraform(work: Path) -> None:
    demo = work / "demo"
    shutil.copytree(HERE / "terraform" / "demo", demo,
                    ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"))
    provider = start_provider(work)
    if provider is None:
        print("\nnote: the simulated cloud's provider is not installed (`make simcloud`"
              " installs it):\nshowing the built-in module, where no resource drifts")
        refresh(work, demo, demo)
        return
    try:
        refresh(work, demo, demo / "simcloud", converge=True)
        tf_dir = demo / "simcloud"
        step("converge wrote the autoscaler's plan into autoscaler.auto.tfvars.json")
        print((tf_dir / "autoscaler.auto.tfvars.json").read_text(), end="")
        step("a plain `terraform plan` (tfhook not involved): the next apply keeps plan 400")
        plan = tfhook("terraform", f"-chdir={tf_dir}", "plan", "-no-color", "-input=false",
                      "-detailed-exitcode", stdout=subprocess.PIPE)
        print("\n".join(line for line in plan.stdout.splitlines() if line.startswith("No ")))
    finally:
        provider.terminate()
        provider.wait()


def refresh(work: Path, demo: Path, tf_dir: Path, converge: bool = False) -> None:
    """Apply once, serve, let the autoscaler change the ELB, send the event; `converge`:
    through a routes file whose route keeps a variables file in step (#22)."""
    which = "the simulated cloud's provider" if tf_dir != demo else "the built-in provider"
    step(f"terraform mode: init and first apply of the demo module ({which}, offline)")
    tfhook("terraform", f"-chdir={tf_dir}", "init", "-input=false", stdout=subprocess.DEVNULL)
    tfhook("terraform", f"-chdir={tf_dir}", "apply", "-auto-approve", "-input=false",
           stdout=subprocess.DEVNULL)
    sock = work / "tf.sock"
    args = ["--tf-dir", str(tf_dir)]
    if converge:
        routes = work / "tfhook.yaml"
        routes.write_text(f"routes:\n  - name: elb\n    terraform:\n      dir: {tf_dir}\n"
                          "      converge: {vars_file: autoscaler.auto.tfvars.json}\n")
        args = ["--routes", str(routes)]
    server = serve(args, sock, work / "terraform.log")
    try:
        step("the autoscaler changes the ELB plan in the (simulated) cloud: 100 -> 400")
        subprocess.run([str(demo / "simulate-cloud-change"), "400"], check=True)
        step("the Core sends PostHandle(result=UPDATED); the stream tfhook answers")
        show_stream(sock)
    finally:
        stop(server, sock)
    step("the Terraform state now says")
    tfhook("terraform", f"-chdir={tf_dir}", "output", "elb_plan")


def main() -> None:
    cli_config = os.environ.get("TF_CLI_CONFIG_FILE")
    if cli_config and not Path(cli_config).exists():
        del os.environ["TF_CLI_CONFIG_FILE"]  # a dangling one only adds a warning to every run
    with tempfile.TemporaryDirectory(prefix="tfhook-demo-") as tmp:
        work = Path(tmp)
        generic(work)
        terraform(work)


if __name__ == "__main__":
    main()
