"""`terraform-provider-simcloud`: the plugin Terraform starts, or `--reattach SOCKET`."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["--reattach"] and len(sys.argv) == 3:
        from simcloud.reattach import serve

        serve(sys.argv[2])
        return
    from tf.runner import run_provider

    from simcloud.provider import SimCloud

    run_provider(SimCloud(), sys.argv)


if __name__ == "__main__":
    main()
