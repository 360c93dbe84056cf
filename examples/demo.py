"""`make demo`: tfhook end to end on this machine, in both modes, with real processes.

1. Generic mode: serve an example hook, send one PostHandle, show what the hook received.
2. Terraform mode: serve a copy of examples/terraform/demo, change the simulated cloud
   (ELB plan 100 -> 400), send one UPDATED event, show the stream and the refreshed state.
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

from tfhook import client

HERE = Path(__file__).resolve().parent
EVENT = {
    "source": "demo", "resource_name": "elb", "scaling_job_id": "demo-job-1",
    "result": "UPDATED",
    "current": {"elb": {"id": "113300000001", "region": "is1", "plan": 400, "name": "demo-elb"}},
}


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def tfhook(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tfhook", *args], check=True, text=True,
                          **kwargs)  # type: ignore[call-overload]


def serve(args: list[str], sock: Path, log: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "tfhook", "serve", "--addr", f"unix:{sock}",
                               *args], stderr=log.open("wb"))
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


def terraform(work: Path) -> None:
    tf_dir = work / "demo"
    shutil.copytree(HERE / "terraform" / "demo", tf_dir,
                    ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"))
    step("terraform mode: init and first apply of the demo module (offline)")
    tfhook("terraform", f"-chdir={tf_dir}", "init", "-input=false", stdout=subprocess.DEVNULL)
    tfhook("terraform", f"-chdir={tf_dir}", "apply", "-auto-approve", "-input=false",
           stdout=subprocess.DEVNULL)
    sock = work / "tf.sock"
    server = serve(["--tf-dir", str(tf_dir)], sock, work / "terraform.log")
    try:
        step("the autoscaler changes the ELB plan in the (simulated) cloud: 100 -> 400")
        subprocess.run([str(tf_dir / "simulate-cloud-change"), "400"], check=True)
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
