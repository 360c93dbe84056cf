"""A provider kept running, which Terraform reattaches to instead of starting one per run.

`terraform-provider-simcloud --reattach SOCKET` serves on the unix socket SOCKET (no TLS, as
go-plugin's reattach protocol allows) and prints one line: the value for
TF_REATTACH_PROVIDERS. `terraform-provider-simcloud -debug` does what a Go provider's
`-debug` does (terraform-plugin-go's managed debug mode): it serves on a socket in a new
temporary directory and prints go-plugin's message, whose tab-indented last line is
`TF_REATTACH_PROVIDERS='{...}'`; it stops on SIGINT (Ctrl-C) or SIGTERM.

Either way it serves until it is stopped: Terraform neither starts nor stops it ("Test":
true), so a StopProvider (Terraform interrupted) only ends that run. Terraform starts a
provider three or four times per command; reattached, none. One process serves one cloud:
ConfigureProvider sets the cloud's file for the whole process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from concurrent import futures
from typing import Any

from simcloud import PROVIDER

# go-plugin's words (terraform-plugin-go, tf6server.Serve with WithManagedDebug).
_STARTED = ("Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS "
            "environment variable with the following:\n")


def reattach_value(sock: str, pid: int) -> str:
    """The TF_REATTACH_PROVIDERS value for a provider serving on `sock`."""
    return json.dumps({PROVIDER: {"Protocol": "grpc", "ProtocolVersion": 6, "Pid": pid,
                                  "Test": True, "Addr": {"Network": "unix", "String": sock}}},
                      separators=(",", ":"))


def serve(sock: str, debug: bool = False) -> None:
    """Serve the provider on `sock` until SIGTERM or SIGINT."""
    import grpc
    from tf.gen import tfplugin_pb2_grpc
    from tf.provider import ProviderServicer

    from simcloud.provider import SimCloud

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    tfplugin_pb2_grpc.add_ProviderServicer_to_server(ProviderServicer(SimCloud()), server)
    server.add_insecure_port(f"unix://{sock}")
    server.start()

    def stop(signum: int, frame: Any) -> None:
        server.stop(grace=1)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    value = reattach_value(sock, os.getpid())
    print(f"{_STARTED}\n\tTF_REATTACH_PROVIDERS='{value}'\n" if debug else value, flush=True)
    server.wait_for_termination()


def debug() -> None:
    """`-debug`: serve on a socket in a temporary directory of our own, removed at the end."""
    where = tempfile.mkdtemp(prefix="plugin")
    try:
        serve(os.path.join(where, "provider.sock"), debug=True)
    finally:
        shutil.rmtree(where, ignore_errors=True)
