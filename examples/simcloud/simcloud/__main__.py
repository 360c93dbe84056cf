"""`terraform-provider-simcloud`: the plugin Terraform starts, `-debug`, or `--reattach SOCKET`.

SIMCLOUD_START_DELAY (seconds) makes every start that slow, whichever way it is started: the
benchmark's stand-in for a real provider, a large Go binary that starts slower than this one.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    delay = float(os.environ.get("SIMCLOUD_START_DELAY") or 0)
    if delay > 0:
        time.sleep(delay)
    if sys.argv[1:2] == ["--reattach"] and len(sys.argv) == 3:
        from simcloud.reattach import serve

        serve(sys.argv[2])
        return
    if sys.argv[1:] in (["-debug"], ["--debug"]):
        from simcloud.reattach import debug

        debug()
        return
    from tf.runner import run_provider

    from simcloud.provider import SimCloud

    run_provider(SimCloud(), sys.argv)


if __name__ == "__main__":
    main()
