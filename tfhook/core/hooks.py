"""Hooks: what runs (an executable or a Terraform directory) for which events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tfhook.core.model import Phase, Result
from tfhook.core.notices import Notify

DEFAULT_TIMEOUT = 15 * 60.0
DEFAULT_KILL_AFTER = 10.0
# What a hook's argv[1] holds: the request (the reference), it redacted, or `-`.
PAYLOAD_ARGV = ("full", "redacted", "none")
# What a refresh does with drift no event of its run explains: apply it, or hold its plan (#21).
UNEXPLAINED_DRIFT = ("apply", "hold")
# The resource types of the request's `Resource` oneof, in field order.
RESOURCE_TYPES = ("server", "server_group_instance", "elb", "gslb", "dns", "router",
                  "load_balancer")
# What the documented Terraform pattern refreshes after.
CHANGED = frozenset({Result.CREATED, Result.UPDATED, Result.DELETED})


@dataclass(frozen=True, slots=True)
class Match:
    """Which events a hook takes. Each key is a set of allowed values; empty means any."""

    phase: frozenset[Phase] = frozenset()
    resource_type: frozenset[str] = frozenset()
    resource_name: tuple[str, ...] = ()  # shell globs
    source: tuple[str, ...] = ()  # shell globs
    result: frozenset[int] = frozenset()
    instruction: frozenset[int] = frozenset()


# The match of a Terraform hook that names no phase and no result: refresh after a change.
AFTER_CHANGE = Match(phase=frozenset({Phase.POST_HANDLE}), result=frozenset(CHANGED))


@dataclass(frozen=True, slots=True)
class ExecutableAction:
    """Run an executable with the request as JSON, exactly like the reference handler."""

    path: Path
    payload_argv: str = "redacted"  # redacted | full | none: what argv[1] holds (stdin: always all)
    kind = "executable"


@dataclass(frozen=True, slots=True)
class Converge:
    """Follow the autoscaler in a variables file tfhook owns (#22): its path, relative to
    the Terraform directory, and whether to commit it."""

    vars_file: str
    commit: bool = False


@dataclass(frozen=True, slots=True)
class TerraformAction:
    """Refresh a Terraform directory (a checked refresh-only plan) through its single flight."""

    dir: Path
    engine: str = "auto"  # auto | embedded | a path to a terraform/tofu binary
    var_files: tuple[Path, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()  # (name, its value as JSON text)
    init: bool = False
    lock_timeout: float = 60.0
    target_from_event: bool = False
    refresh_on_start: bool = False
    reconcile_every: float | None = None
    # Objects a refresh may drop from the state beyond those DELETED events name (#12).
    max_state_removals: int = 0
    check_revert: bool = True  # warn when the next apply would change back a refresh
    unexplained_drift: str = "apply"  # apply | hold (UNEXPLAINED_DRIFT)
    converge: Converge | None = None  # write what the autoscaler did into a variables file
    warm_providers: str = "auto"  # auto | off: providers kept running across commands (#25)
    kind = "terraform"


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a run may take, and how long its group gets after the stop signal before
    SIGKILL; passed whole from the option table to the process layer."""

    timeout: float = DEFAULT_TIMEOUT
    kill_after: float = DEFAULT_KILL_AFTER


@dataclass(frozen=True, slots=True)
class Hook:
    """One hook: a name, the events it takes, what it runs, and its limits.

    `labels` say how to name a field in messages (`dir` → its flag for a hook made from
    flags, `tfhook.yaml: routes[0] (web): terraform.dir` for one from a routes file).
    """

    name: str
    action: ExecutableAction | TerraformAction
    match: Match = Match()
    limits: Limits = Limits()
    on_failure: str = "fail"  # fail | warn
    parallel: bool = False
    notify: Notify | None = None  # where to tell people how its runs go (#23)
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def kind(self) -> str:
        return self.action.kind

    def label(self, name: str) -> str:
        """How messages name one of this hook's fields."""
        return self.labels.get(name, f"{self.name}: {name}")


def stop_time(hooks: Iterable[Hook]) -> float:
    """The longest any of `hooks` may take to stop: how long a stopping call may still take."""
    return max((hook.limits.kill_after for hook in hooks), default=DEFAULT_KILL_AFTER)
