"""route(event, hooks) as a pure function: every match key, file order, the unmatched case."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfhook.core.hooks import AFTER_CHANGE, ExecutableAction, Hook, Match, TerraformAction
from tfhook.core.model import Event, GoJson, Phase, ResourceIds
from tfhook.core.routing import miss, route

SCRIPT = ExecutableAction(Path("/bin/true"))


def event(phase: Phase = Phase.POST_HANDLE, **fields: object) -> Event:
    base: dict[str, object] = dict(phase=phase, source="grafana", resource_name="elb-1",
                                   scaling_job_id="j", instruction=0, result=2,
                                   resource_ids=ResourceIds(), request_json=GoJson(b"{}"),
                                   resource_type="elb")
    return Event(**{**base, **fields})  # type: ignore[arg-type]


def names(e: Event, *hooks: Hook) -> list[str | None]:
    return [action.hook for action in route(e, hooks)]


@pytest.mark.parametrize(("match", "fields", "why"), [
    (Match(phase=frozenset({Phase.HANDLE})), {}, "phase post-handle is not handle"),
    (Match(resource_type=frozenset({"server", "dns"})), {},
     "resource_type elb is not one of dns, server"),
    (Match(resource_type=frozenset({"elb"})), {"resource_type": ""},
     "resource_type (none) is not elb"),
    (Match(resource_name=("web-*", "db-?")), {}, "resource_name 'elb-1' matches none of web-*, db-?"),
    (Match(source=("prometheus",)), {}, "source 'grafana' matches none of prometheus"),
    (Match(result=frozenset({1, 3})), {}, "result updated is not one of created, deleted"),
    (Match(result=frozenset({4})), {"result": 9}, "result 9 is not no-change"),
    (Match(instruction=frozenset({4})), {"phase": Phase.HANDLE, "instruction": 2},
     "instruction update is not noop"),
])
def test_each_key_rules_an_event_out_in_words(match: Match, fields: dict[str, object],
                                               why: str) -> None:
    assert miss(event(**fields), match) == why  # type: ignore[arg-type]


@pytest.mark.parametrize("match", [
    Match(),
    Match(phase=frozenset({Phase.POST_HANDLE}), resource_type=frozenset({"elb", "gslb"}),
          resource_name=("elb-*",), source=("graf*",), result=frozenset({2})),
    AFTER_CHANGE,
])
def test_matching_events(match: Match) -> None:
    assert miss(event(), match) is None


def test_the_first_key_that_fails_is_the_one_named() -> None:
    match = Match(phase=frozenset({Phase.HANDLE}), resource_type=frozenset({"server"}))
    assert miss(event(), match) == "phase post-handle is not handle"
    assert miss(event(Phase.HANDLE), match) == "resource_type elb is not server"


def test_every_matching_hook_runs_in_file_order() -> None:
    hooks = [Hook("c", SCRIPT), Hook("a", SCRIPT, Match(resource_type=frozenset({"server"}))),
             Hook("b", TerraformAction(Path("/infra")), AFTER_CHANGE)]
    assert names(event(), *hooks) == ["c", "b"]
    assert names(event(resource_type="server"), *hooks) == ["c", "a", "b"]
    assert names(event(result=4, resource_type="server"), *hooks) == ["c", "a"]


def test_no_match_is_one_skip_naming_each_hook_and_why() -> None:
    hooks = (Hook("tf", SCRIPT, AFTER_CHANGE),
             Hook("notify", SCRIPT, Match(source=("alertmanager",))))
    [action] = route(event(result=4), hooks)
    assert action.hook is None and action.announce is True
    assert action.reason == ("PostHandle: no route matches (tf: result no-change is not one of "
                             "created, updated, deleted; notify: source 'grafana' matches none "
                             "of alertmanager)")
    [quiet] = route(event(result=4), hooks, announce_unmatched=False)
    assert quiet.hook is None and quiet.announce is False


def test_route_is_pure() -> None:
    hooks = (Hook("a", SCRIPT), Hook("b", SCRIPT, Match(phase=frozenset({Phase.HANDLE}))))
    e = event()
    assert route(e, hooks) == route(e, hooks) == route(e, list(hooks))
    assert [a.event for a in route(e, hooks)] == [e]
