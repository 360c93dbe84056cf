"""The benchmark's outputs: target checks, RESULTS.md and the chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import warmreport

Target = dict[str, Any]
FULL_REFRESH_RESOURCES = 1000  # the size the refresh CPU target is set for
NOTHING = "nothing to refresh"  # the burst case whose runs stop after their plan


def _target(short: str, name: str, value: float, limit: float, unit: str,
            at_most: bool = True, not_graded: str | None = None) -> Target:
    """A target and whether it is met; `not_graded` (why) when this run cannot tell."""
    met = None if not_graded else value <= limit if at_most else value >= limit
    return {"short": short, "name": name, "value": round(value, 3), "limit": limit,
            "unit": unit, "at_most": at_most, "met": met, "not_graded": not_graded}


def targets(r: dict[str, Any]) -> list[Target]:
    g, start, refresh = r["generic"], r["start_to_serving"], r["refresh"]
    found = [
        _target("p50 c=1 / floor, one channel",
                "generic p50 at c=1 / subprocess.run floor (one channel)",
                g["p50_ratio_one_channel"], 1.6, "x"),
        _target("p50 c=1 / floor, new channel",
                "generic p50 at c=1 / subprocess.run floor (new channel per call)",
                g["p50_ratio_new_channel"], 1.6, "x"),
        _target("CPU per call, one channel", "tfhook CPU per call (one connection for all)",
                g["cpu_per_call_ms"]["one_channel"], 1.5, "ms"),
        _target("CPU per call, new channel", "tfhook CPU per call (a new connection per call, "
                "as the Core dials)", g["cpu_per_call_ms"]["new_channel"], 1.5, "ms"),
        _target("calls/s c=16 / asyncio floor", "calls/s at 16 / asyncio floor",
                g["calls_per_s_ratio"]["16"], 0.9, "x", at_most=False),
        _target("start to SERVING, generic", "start to SERVING, generic", start["generic_s"],
                0.3, "s"),
        _target("Terraform start extra / engine's", "(Terraform mode start - generic start) / "
                "the engine's own start-up commands run bare", start["terraform_minus_generic_s"]
                / start["engine_startup_commands_s"], 1.0, "x"),
        _target("idle RSS", "idle RSS", g["idle_rss_mib"], 45, "MiB"),
        # What a plain install (no fast extra) and a systemd unit's default limit give.
        _target("idle RSS, asyncio's loop", "idle RSS, asyncio's own loop (tfhook without the "
                "fast extra)", g["variant_idle_rss_mib"]["asyncio_loop"], 45, "MiB"),
        _target("p50 c=1 / floor, asyncio's loop", "generic p50 at c=1 / subprocess.run floor, "
                "asyncio's own loop", g["p50_ratio_asyncio_loop"], 1.6, "x"),
        _target("p50 c=1 / floor, soft limit 1024", "generic p50 at c=1 / subprocess.run floor, "
                "started with a soft open files limit of 1024 (systemd's default)",
                g["p50_ratio_soft_limit_1024"], 1.6, "x"),
        _target("tfhook terraform version / bare", "`tfhook terraform version` / bare embedded "
                "engine", r["terraform_version"]["embedded"]["ratio"], 1.5, "x"),
        # The target is for 1,000 resources: a quick run's 100 cannot tell whether it holds.
        _target("CPU to follow full refresh", f"tfhook CPU to follow a {refresh['resources']}-"
                "resource full refresh", refresh["tfhook_cpu_ms"], 100, "ms",
                not_graded=(f"quick run: {refresh['resources']} resources"
                            if refresh["resources"] < FULL_REFRESH_RESOURCES else None)),
    ]
    for engine, cases in r["terraform_burst"].items():
        for case, burst in cases.items():
            applied = f", applied: {burst['runs_that_applied']}" if case != NOTHING else ""
            found.append(_target(f"burst, {case}, {engine.split()[0]}",
                                 f"burst of 20 vs shell pattern, {case} ({engine}), runs: "
                                 f"{burst['distinct_runs']}{applied}", burst["speedup"], 8, "x",
                                 at_most=False))
    return found + warmreport.targets(r)


def _met(t: Target) -> str:
    if t["met"] is None:
        return f"not graded ({t['not_graded']})"
    return "yes" if t["met"] else "**no**"


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def markdown(r: dict[str, Any]) -> str:
    lines = [*_header(r), *_targets_md(r), *_generic_md(r["generic"]), *_terraform_md(r),
             *warmreport.markdown(r), *_footprint_md(r), *_commands()]
    return "\n".join(lines) + "\n"


def _header(r: dict[str, Any]) -> list[str]:
    m = r["machine"]
    return [
        "# tfhook benchmark results", "",
        f"Date: {r['date']}. Run: `{r['command']}` ({r['seconds']} s). "
        "Figures are medians over interleaved rounds; comparisons are ratios taken in the same run.",
        "", f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}, "
        f"Python {m['python']}; terraform on PATH: {m['terraform_on_path'] or 'none'}.",
        f"Load average (1, 5, 15 min) before: {r['load_before']}, after: {r['load_after']} "
        "(2 cores shared with other work: above 2 the machine was busy).", "",
        "![tfhook benchmark](chart.png)", ""]


def _targets_md(r: dict[str, Any]) -> list[str]:
    lines = ["## Targets", "", "| measure | value | target | met |", "|---|---|---|---|"]
    for t in r["targets"]:
        sign = "<=" if t["at_most"] else ">="
        lines.append(f"| {t['name']} | {_fmt(t['value'])} {t['unit']} | {sign} {t['limit']} "
                     f"{t['unit']} | {_met(t)} |")
    return [*lines, ""]


def _generic_md(g: dict[str, Any]) -> list[str]:
    lines = ["## Generic mode (the same `exec cat` hook everywhere)", "",
             "| way | p50 ms | p99 ms |", "|---|---|---|"]
    for way, p50 in g["latency_p50_ms"].items():
        lines.append(f"| {way} | {_fmt(p50)} | {_fmt(g['latency_p99_ms'][way])} |")
    lines += ["", "| concurrency | tfhook calls/s | asyncio floor calls/s | ratio |",
              "|---|---|---|---|"]
    for c, rate in g["calls_per_s"].items():
        lines.append(f"| {c} | {_fmt(rate)} | {_fmt(g['floor_asyncio_calls_per_s'][c])} | "
                     f"{_fmt(g['calls_per_s_ratio'][c])} |")
    for c, rate in g.get("calls_per_s_new_connection", {}).items():
        lines.append(f"| {c}, a new connection per call (measured, not a target) | {_fmt(rate)} "
                     f"| {_fmt(g['floor_asyncio_calls_per_s'][c])} | "
                     f"{_fmt(g['calls_per_s_ratio_new_connection'][c])} |")
    split = g["cpu_per_call_split_ms"]
    return [*lines, "", f"Client: {g['client']}. tfhook CPU per call, one connection for all: "
            f"{_fmt(g['cpu_per_call_ms']['one_channel'])} ms (its Python threads "
            f"{_fmt(split['one_channel']['python'])}, gRPC's C-core threads "
            f"{_fmt(split['one_channel']['grpc'])}); a new connection per call: "
            f"{_fmt(g['cpu_per_call_ms']['new_channel'])} ms (Python "
            f"{_fmt(split['new_channel']['python'])}, gRPC core "
            f"{_fmt(split['new_channel']['grpc'])}). The client's own CPU per call: "
            f"{_fmt(g['client_cpu_per_call_ms'])} ms. `tfhook_no_hook` is a call for a phase "
            "that runs nothing: what gRPC (both ends) and tfhook cost without the spawn; "
            "`tfhook_grpcio_client` is a call from Python's grpcio client, whose own cost is in "
            f"the figure. Idle RSS {_fmt(g['idle_rss_mib'])} MiB; after "
            f"{g['calls_before_rss']} calls {_fmt(g['rss_after_5000_calls_mib'])} MiB.", ""]


def _terraform_md(r: dict[str, Any]) -> list[str]:
    lines = ["## Terraform mode", "",
             "Burst: 20 UPDATED events at once through tfhook against the shell pattern, with "
             "nothing to refresh (the module's objects never drift: each run stops after its "
             "plan) and with a change (an output the module reads from another state gets a new "
             "value before every round: the first run plans, shows, applies the plan; the shell "
             "pattern's first apply writes it).", "",
             "| engine | case | 20 events via tfhook s | shell pattern s | speed-up | runs "
             "| runs that applied | one event via tfhook s | one bare apply s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for engine, cases in r["terraform_burst"].items():
        for case, b in cases.items():
            lines.append(f"| {engine} | {case} | {_fmt(b['tfhook_s'])} | {_fmt(b['shell_s'])} | "
                         f"{_fmt(b['speedup'])} | {b['distinct_runs']} | "
                         f"{b['runs_that_applied']} | {_fmt(b['one_event_s'])} | "
                         f"{_fmt(b['one_bare_apply_s'])} |")
    lines += ["", "`tfhook init --kind terraform-refresh` hook, per event: " + ", ".join(
        f"{k} {_fmt(v)} s" for k, v in r["init_hook_per_event_s"].items()) + ".", ""]
    f = r["refresh"]
    lines += [f"{f['resources']} resources ({f['engine']}): targeted refresh {_fmt(f['targeted_s'])} s, "
              f"full refresh {_fmt(f['full_s'])} s ({_fmt(f['full_over_targeted'])}x); tfhook's own "
              f"CPU to follow the full refresh {_fmt(f['tfhook_cpu_ms'])} ms.", ""]
    return [*lines, *_guard_md(r.get("guarded_refresh", {}))]


def _guard_md(guarded: dict[str, Any]) -> list[str]:
    lines = ["Guarded refresh (plan -refresh-only -out; when it found something: show -json, "
             "apply the plan, revert check `plan -refresh=false` when objects drifted) against "
             "a single apply (embedded engine). Nothing to refresh: the run stops after its "
             "plan; with a change: an output the module reads changed before every run. The "
             "bare guarded steps run all four commands:", "",
             "| case | resources | bare single apply s | bare guarded steps s "
             "| one event via tfhook s | via tfhook, --no-check-revert s "
             "| via tfhook, --snapshots-keep 0 s |",
             "|---|---|---|---|---|---|---|"]
    for case, counts in guarded.items():
        for count, g in counts.items():
            lines.append(f"| {case} | {count} | {_fmt(g['bare_single_apply_s'])} | "
                         f"{_fmt(g['bare_guarded_steps_s'])} | {_fmt(g['tfhook_event_s'])} | "
                         f"{_fmt(g['tfhook_no_revert_check_s'])} | "
                         f"{_fmt(g['tfhook_no_snapshot_s']) if 'tfhook_no_snapshot_s' in g else '-'} |")
    return [*lines, ""]


def _footprint_md(r: dict[str, Any]) -> list[str]:
    s = r["start_to_serving"]
    lines = ["## Footprint", "", f"Start to SERVING: generic {_fmt(s['generic_s'])} s, Terraform "
             f"mode (embedded engine) {_fmt(s['terraform_s'])} s; the engine's own start-up "
             f"commands (`version -json`, a plan of nothing) run bare: "
             f"{_fmt(s['engine_startup_commands_s'])} s.", "",
             "| `terraform version` through | tfhook s | bare s | ratio |", "|---|---|---|---|"]
    for engine, v in r["terraform_version"].items():
        lines.append(f"| {engine} | {_fmt(v['tfhook_s'])} | {_fmt(v['bare_s'])} | {_fmt(v['ratio'])} |")
    return [*lines, ""]


def _commands() -> list[str]:
    return ["## How it was measured", "",
            "- `make bench` runs `python -m bench.run bench` (`BENCH_QUICK=1`: fewer rounds, "
            "100 resources instead of 1,000, the embedded engine only; written to `bench/quick/`).",
            "- Floors: the hook through `subprocess.run([hook, json], input=json)` and through "
            "`asyncio.create_subprocess_exec(...).communicate(json)` (Python's default watcher).",
            "- tfhook: `tfhook serve --executable-path HOOK --addr unix:...` (log level info, "
            "history on), called by a Core-like client, bench/coreclient (grpc-go from Debian's "
            "packages, built by `make bench`; it sends the serialized request as bytes): one "
            "connection for every call, or a new connection per call as the Core dials; calls/s "
            "with N calls always in flight on one connection (at 16 also with a new connection "
            "per call). Where Go is missing the benchmark calls with grpcio "
            "from its own process and says so under Generic mode.",
            "- CPU: time on CPU of the tfhook process's threads (/proc/PID/task/*/schedstat), "
            "not of its children; split into its Python threads and gRPC's C-core threads by "
            "thread name.",
            "- Start to SERVING: spawn of `tfhook serve` to its `serving` log line (logged once "
            "health answers SERVING). RSS: VmRSS.",
            "- Terraform: a module of `terraform_data` resources (for_each), state written directly; "
            "with a change, it also reads an output of a local state file through "
            "`terraform_remote_state` (a built-in provider) and outputs it, and that file gets a "
            "new value and serial before every round; "
            "shell pattern: `apply -refresh-only -auto-approve -input=false` once per event, one "
            "after another. Targeted: `--target-from-event` with an id from the state; full: an "
            "id that matches nothing.", ""]


def chart(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = r["generic"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    ways = list(g["latency_p50_ms"])
    axes[0].bar(range(len(ways)), [g["latency_p50_ms"][w] for w in ways], color="tab:blue")
    axes[0].set_xticks(range(len(ways)), [w.replace("_", "\n") for w in ways], fontsize=8)
    axes[0].set_title("generic p50 latency at concurrency 1 (ms)")
    _rates_axis(axes[1], g)
    names = [t["short"] for t in r["targets"]]
    scores = [t["value"] / t["limit"] if t["at_most"] else t["limit"] / max(t["value"], 1e-9)
              for t in r["targets"]]
    colours = {True: "tab:green", False: "tab:red", None: "tab:gray"}  # None: not graded
    axes[2].barh(range(len(names)), scores, color=[colours[t["met"]] for t in r["targets"]])
    axes[2].axvline(1.0, color="black", linewidth=1)
    axes[2].set_yticks(range(len(names)), names, fontsize=8)
    axes[2].invert_yaxis()
    axes[2].set_title("share of each target used (<= 1 is met)")
    fig.suptitle(f"tfhook benchmark, {r['date']} (load {r['load_before']})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _rates_axis(ax: Any, g: dict[str, Any]) -> None:
    """Calls/s per concurrency: tfhook, tfhook with a new connection per call, the floor."""
    levels = list(g["calls_per_s"])
    x = range(len(levels))
    ax.bar([i - 0.27 for i in x], [g["calls_per_s"][c] for c in levels], 0.27, label="tfhook")
    fresh = g.get("calls_per_s_new_connection", {})
    ax.bar([i for i, c in zip(x, levels, strict=True) if c in fresh],
           [fresh[c] for c in levels if c in fresh], 0.27, label="tfhook, new connection per call")
    ax.bar([i + 0.27 for i in x], [g["floor_asyncio_calls_per_s"][c] for c in levels], 0.27,
           label="asyncio floor")
    ax.set_xticks(list(x), [f"c={c}" for c in levels])
    ax.set_title("calls/s")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.3)  # room for the legend above the bars
    ax.legend(fontsize=8, loc="upper left")


def summary(r: dict[str, Any]) -> str:
    marks = {True: "ok  ", False: "MISS", None: "n/a "}
    return "\n".join(f"{marks[t['met']]} {t['name']}: {_fmt(t['value'])} {t['unit']} "
                     f"({'<=' if t['at_most'] else '>='} {t['limit']})"
                     + (f" not graded: {t['not_graded']}" if t["met"] is None else "")
                     for t in r["targets"])
