"""Warm providers' part of the benchmark's outputs (#25): its targets and its RESULTS.md
section, from what bench/warm.py measured."""

from __future__ import annotations

import statistics
from typing import Any

MODES = ("auto", "off")


def _ratios(case: dict[str, Any], mode: str, against: str) -> list[float]:
    """tfhook's time over the bare way's, round by round (the rounds are paired)."""
    return [t / b for t, b in zip(case[mode]["all"], case[against]["all"], strict=True)]


def _figures(engine: dict[str, Any], mode: str) -> list[tuple[str, str, list[float], float,
                                                               bool]]:
    """(short, name, values, limit, at_most) for one engine and one mode."""
    burst = engine["burst"]
    return [
        ("one event / bare apply", "one event with a change, end to end via tfhook / one bare "
         "`apply -refresh-only`", _ratios(engine["one_event"], mode, "bare"), 1.0, True),
        ("burst, with a change", "burst of 20, with a change, vs shell pattern",
         burst["with a change"][f"speedup_{mode}"]["all"], 8.0, False),
        ("burst, nothing to refresh", "burst of 20, nothing to refresh, vs shell pattern",
         burst["nothing to refresh"][f"speedup_{mode}"]["all"], 8.0, False),
        ("targeted / bare targeted", f"{engine['targeted']['resources']} resources: an "
         "event's targeted refresh / a bare targeted `apply -refresh-only -target=...`",
         _ratios(engine["targeted"], mode, "bare"), 1.2, True)]


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure per engine, warm providers on and off; the spread over the rounds."""
    from bench.report import _target

    warm = r.get("warm_providers") or {}
    found = []
    for name, engine in warm.items():
        if not isinstance(engine, dict) or "burst" not in engine:
            continue
        for mode in MODES:
            for short, title, values, limit, at_most in _figures(engine, mode):
                spread = f"{min(values):.3g}-{max(values):.3g} over {len(values)}"
                found.append(_target(
                    f"warm {mode}, {short}, {name.split()[0]}",
                    f"warm providers {mode} ({name}): {title} (rounds {spread})",
                    statistics.median(values), limit, "x", at_most=at_most))
    return found


def _s(spread: dict[str, Any]) -> str:
    return f"{spread['median']:.3g} ({spread['min']:.3g}-{spread['max']:.3g})"


def markdown(r: dict[str, Any]) -> list[str]:
    warm = r.get("warm_providers")
    if not warm:
        return []
    if "skipped" in warm:
        return ["## Warm providers", "", f"Not measured: {warm['skipped']}.", ""]
    lines = ["## Warm providers", "",
             "The simulated cloud's provider (examples/simcloud) started as slowly as a real "
             f"one: SIMCLOUD_START_DELAY={warm['start_delay_s']:g} s on every start (the "
             "sakuracloud provider cannot be installed here: Terraform's registry and "
             "releases.hashicorp.com do not resolve, and PyPI has no build of it, so its own "
             "start could not be measured). Terraform finds the provider through dev_overrides "
             "and starts it itself; tfhook with `--warm-providers auto` starts it once, with "
             "`-debug`. Each server answered one event before the rounds. Seconds, median "
             f"(min-max) over {warm['rounds']} interleaved rounds ({warm['burst_rounds']} for "
             "the bursts); the order of the ways turned each round.", "",
             "| engine | case | tfhook, warm auto s | tfhook, warm off s | bare s "
             "| auto / bare | off / bare |", "|---|---|---|---|---|---|---|"]
    for name, engine in warm.items():
        if isinstance(engine, dict) and "burst" in engine:
            lines += _rows(name, engine)
    return [*lines, "", "Bursts: the bare way is the shell pattern, 20 applies one after "
            "another; the ratio columns give its speed-up (shell / tfhook).", ""]


def _rows(name: str, engine: dict[str, Any]) -> list[str]:
    rows = []
    for case, data, bare in (("one event, with a change", engine["one_event"], "bare"),
                             ("burst of 20, with a change", engine["burst"]["with a change"],
                              "shell"),
                             ("burst of 20, nothing to refresh",
                              engine["burst"]["nothing to refresh"], "shell"),
                             (f"{engine['targeted']['resources']} resources, targeted",
                              engine["targeted"], "bare")):
        burst = bare == "shell"
        ratio = [(_s(data[f"speedup_{m}"]) + " faster") if burst else
                 f"{statistics.median(_ratios(data, m, bare)):.3g}" for m in MODES]
        rows.append(f"| {name} | {case} | {_s(data['auto'])} | {_s(data['off'])} | "
                    f"{_s(data[bare])} | {ratio[0]} | {ratio[1]} |")
    return rows
