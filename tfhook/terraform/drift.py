"""Explained and unexplained drift (#21): a drifted object is explained when an event of the
run acted on it (its id is the event's own resource id), unexplained otherwise (someone or
something else changed it, or a provider read went wrong)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from tfhook.core.model import Event
from tfhook.terraform import plans, targets
from tfhook.terraform.state import State

NO_JOB = "(no job id)"
GONE = plans.GONE


@dataclass(frozen=True, slots=True)
class Causes:
    """What the events of a run explain: each own resource id with the job of the first
    event naming it, and the own ids DELETED events name (the only removals explained).
    A background run has no event: it explains nothing."""

    jobs: Mapping[str, str] = field(default_factory=dict)
    deleted: frozenset[str] = frozenset()

    @classmethod
    def of(cls, events: Sequence[Event]) -> Causes:
        jobs: dict[str, str] = {}
        for event in events:
            if event.resource_ids.own:  # a parent's id explains nothing
                jobs.setdefault(event.resource_ids.own, event.scaling_job_id or NO_JOB)
        return cls(jobs, targets.deleted_ids(events))

    def explains(self, drifted: plans.Drifted) -> str | None:
        """The job whose event explains `drifted`, or None."""
        if not drifted.id or (drifted.gone and drifted.id not in self.deleted):
            return None
        return self.jobs.get(drifted.id)


@dataclass(frozen=True, slots=True)
class Drift:
    """A drifted object and the job that explains it (None: no event does)."""

    address: str
    what: str
    job: str | None

    @property
    def gone(self) -> bool:
        return self.what == GONE

    @property
    def change(self) -> str:
        """What it changes, whoever explains it: `simcloud_elb.main (plan 100 -> 400)`."""
        return f"{self.address} ({self.what})"

    def __str__(self) -> str:
        why = "not explained by any event" if self.job is None else f"explained by job {self.job}"
        return f"{self.address} ({self.what}, {why})"


def classify(plan: State, causes: Causes) -> list[Drift]:
    """Each object the refresh-only `plan` found drifted, explained or not, in address order."""
    return [Drift(d.address, d.what, causes.explains(d)) for d in plans.drifts(plan)]


def explained_as(drifts: Sequence[Drift], before: Sequence[Drift]) -> list[Drift]:
    """`drifts` of a plan made again (no event in it) explained as `before`, the plan the
    events of its run classed: an object explained then (changed, or gone, as it was)
    keeps its job; a drift new since is explained by no event."""
    jobs = {(d.address, d.gone): d.job for d in before}
    return [replace(d, job=jobs.get((d.address, d.gone))) for d in drifts]


def unexplained(drifts: Sequence[Drift]) -> list[Drift]:
    return [d for d in drifts if d.job is None]


def fingerprint(drifts: Sequence[Drift]) -> frozenset[str]:
    """What applying the plan changes, to compare two plans: not who explains it."""
    return frozenset(d.change for d in drifts)


def differences(held: frozenset[str], new: frozenset[str]) -> str:
    """How a new plan differs from the one held, in words."""
    gone, added = sorted(held - new), sorted(new - held)
    parts = ([f"no longer {'; '.join(gone)}"] if gone else []) + \
        ([f"now also {'; '.join(added)}"] if added else [])
    return ", ".join(parts) or "nothing"
