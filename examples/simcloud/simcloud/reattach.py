"""A provider kept running, which Terraform reattaches to instead of starting one per run.

`terraform-provider-simcloud --reattach SOCKET` serves on the unix socket SOCKET (no TLS, as
go-plugin's reattach protocol allows) and prints one line: the value for
TF_REATTACH_PROVIDERS. It serves until it is terminated: Terraform neither starts nor stops
it ("Test": true), so a StopProvider (Terraform interrupted) only ends that run.
Terraform starts a provider three or four times per command; reattached, none. One process
serves one cloud: ConfigureProvider sets the cloud's file for the whole process.
"""

from __future__ import annotations

import json
import os
import signal
from concurrent import futures
from typing import Any

from simcloud import PROVIDER


def reattach_value(sock: str, pid: int) -> str:
    """The TF_REATTACH_PROVIDERS value for a provider serving on `sock`."""
    return json.dumps({PROVIDER: {"Protocol": "grpc", "ProtocolVersion": 6, "Pid": pid,
                                  "Test": True, "Addr": {"Network": "unix", "String": sock}}})


def serve(sock: str) -> None:
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
    print(reattach_value(sock, os.getpid()), flush=True)
    server.wait_for_termination()
