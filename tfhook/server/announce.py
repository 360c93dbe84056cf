"""What tfhook says once it serves (#24): tfhook_build_info, and READY=1 to systemd."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tfhook.runners import RunnerContext
from tfhook.server.systemd import Notifier

if TYPE_CHECKING:
    from tfhook.observe.metrics import MetricsSink


def serving(found: Mapping[str, str], addr: str, context: RunnerContext,
            metrics: MetricsSink | None, notifier: Notifier) -> None:
    """Health answers SERVING: export the versions, then tell systemd tfhook is ready.

    Args:
        found: the start-up line's routes and directories (`_describe`).
        addr: the address served.
        context: the runners' context, whose directories know their Terraform's version.
        metrics: the metrics sink, when metrics are exported.
        notifier: what tells systemd.
    """
    if metrics is not None:
        versions = {directory.version for directory in context.directories.values()
                    if not directory.closed and directory.version}
        metrics.built(",".join(sorted(versions)))
    notifier.ready(found, addr)
