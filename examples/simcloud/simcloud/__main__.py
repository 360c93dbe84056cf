"""`terraform-provider-simcloud`: the plugin Terraform starts (or reattaches with --dev)."""

from __future__ import annotations

import sys


def main() -> None:
    from tf.runner import run_provider

    from simcloud.provider import SimCloud

    run_provider(SimCloud(), sys.argv)


if __name__ == "__main__":
    main()
