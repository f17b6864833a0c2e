"""Decision impact: replay throughput and the cost of shadow evaluation, medians side by side.

* Replay: examples/full is built as it is (OLD) and with its implementer canary at 50% and the
  reflex gate's latency limit at 1500 ms (NEW); RUNS runs are recorded with the runtime under
  OLD, each as a router makes them: one architect route, 20 implementer calls (a keyed route and
  a ``charge_call`` each), the prompt_quality gate on the bundle's scorecard and the reflex gate
  on measured metrics. Measured in interleaved rounds, wall clock and CPU time, medians:

  - replay: ``compiler.impact.replay.replay(OLD, NEW, [workspace])``, everything ``polc diff
    --replay`` does after loading the two bundles: finding the run directories, reading and
    parsing every log, re-evaluating every decision under OLD and NEW, collecting the result.
    Decisions per second = decisions replayed / that time (target: at least 100,000/s).
  - baseline: the direct re-evaluation loop on the same logs: polc's log reader, line by line
    (``compiler.jsonlog.read_log``; like the replay it does not verify the hash chain), then per
    decision ``snap.route`` of OLD and NEW, ``snap.gate(..).evaluate`` of both, and a NEW
    ``BudgetTracker.charge`` at NEW's price; no memo. It must find the same changes as the
    replay (checked), so the ratio compares equal work.
  - read: finding, reading and parsing the logs alone (the part of the replay no re-evaluation
    can save), and loading the two bundles (start-up, in neither rate).
* Shadow: ``router.route`` of ``live.with_shadow(candidate)`` vs ``live.route`` on the same
  calls (keyed implementer routes over 1,000 keys, and an unkeyed route), as a ratio.

    .venv/bin/python benchmarks/bench_impact.py [--runs 500] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved  # noqa: E402
from compiler import build  # noqa: E402
from compiler.impact.replay import decode_key, replay  # noqa: E402
from compiler.jsonlog import read_log  # noqa: E402
from compiler.impact.replay_inputs import iter_runs  # noqa: E402
from compiler.runtime import load_snapshot  # noqa: E402
from compiler.runtime.errors import BudgetExceeded  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "full"
CHANGES = (('"claude-sonnet-4-20250514" = 90\ngpt-4o = 10', '"claude-sonnet-4-20250514" = 50\ngpt-4o = 50'),
           ("p95_latency_ms = 2000", "p95_latency_ms = 1500"))
CALLS_PER_RUN = 20
TARGET = 100_000   # replayed decisions per second (issue 16)


def built(root: Path, changes=()) -> Path:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("artifacts"))
    policy = root / "model_policy.toml"
    text = policy.read_text(encoding="utf-8")
    for old, new in changes:
        text = text.replace(old, new)
    policy.write_text(text, encoding="utf-8")
    result = build(root, out_dir=root / "out")
    assert result.ok, [d.message for d in result.diagnostics]
    return root / "out" / "policy.json"


def record(snap, workspace: Path, runs: int) -> None:
    rng = random.Random(5)
    fsync = os.fsync
    os.fsync = lambda fd: None   # recording speed is not measured here; durability is tested elsewhere
    try:
        for i in range(runs):
            with snap.start_run(f"run-{i:05d}", workspace, follow=None) as run:
                run.route("architect")
                run.gate("prompt_quality", scorecard=dict(snap.scorecard))
                run.gate("reflex_promotion", {"p95_latency_ms": rng.choice((1400, 1700, 1900, 2200)),
                                              "success_parity_percent": rng.choice((84, 88, 93))})
                for j in range(CALLS_PER_RUN):
                    model = run.route("implementer", key=f"session-{i}-{j}")[0].model
                    run.charge_call("implement", model, input_tokens=rng.randint(20, 200),
                                    output_tokens=rng.randint(20, 80))
    finally:
        os.fsync = fsync


def direct(old, new, workspace: Path) -> tuple[int, int, int, Decimal]:
    """The baseline: every recorded decision asked again of OLD and NEW through the runtime, one by
    one, as a script without the replay's plans and memos would. (decisions, changed routes,
    flipped gates, NEW's cost)"""
    decisions = routes_changed = gates_flipped = 0
    cost_new = Decimal(0)
    for run_dir in sorted((workspace / "runs").iterdir()):
        tracker, picks = new.budget_tracker(), {}
        for record, _ in read_log(run_dir / "REPLAY.jsonl", "POLC750")[0]:
            if record["type"] == "RouteDecision":
                context = {"passed_gates": record["passed_gates"]} if record.get("passed_gates") else None
                key = decode_key(record.get("key"))
                before = old.route(record["role"], context, key=key)[0].model
                after = new.route(record["role"], context, key=key)[0].model
                picks[record["seq"]] = (before, after)
                routes_changed += before != after
            elif record["type"] == "BudgetCharge":
                before, after = picks[record["route_seq"]]
                config = new.model(after if record["model"] == before else record["model"])
                cost = (record["input_tokens"] * Decimal(repr(config.input_price_per_mtok)) +
                        record["output_tokens"] * Decimal(repr(config.output_price_per_mtok))) / 1_000_000
                try:
                    tracker.charge(record["stage"], tokens=record["tokens"], cost=cost)
                except BudgetExceeded:
                    pass
            else:
                continue
            decisions += 1
        cost_new += tracker.spent
        for event, _ in read_log(run_dir / "events.jsonl", "POLC750")[0]:
            if event["type"] == "GateEvaluated":
                inputs = event.get("inputs") or {}
                verdicts = {snap.gate(event["gate"]).evaluate(event["metrics"], **inputs).passed for snap in (old, new)}
                gates_flipped += len(verdicts) == 2
                decisions += 1
    return decisions, routes_changed, gates_flipped, cost_new


def bench_replay(old_path: Path, new_path: Path, workspace: Path, rounds: int) -> None:
    old, new = load_snapshot(old_path), load_snapshot(new_path)
    ws = [str(workspace)]
    result = replay(old, new, ws)   # warm: gates compiled, files in the page cache
    decisions = result.decisions
    baseline = direct(old, new, workspace)
    assert baseline == (decisions, len(result.route_changes), len(result.gate_flips), result.cost_new), \
        (baseline, result.summary())   # the baseline does the same work and finds the same changes
    records, size = 0, 0
    for run in iter_runs(ws):
        for log in (run.replay, run.events):
            records += len(log.records)
            size += os.path.getsize(log.path)

    def read():
        for _ in iter_runs(ws):
            pass

    candidates = {"load": lambda: (load_snapshot(old_path), load_snapshot(new_path)), "read": read,
                  "baseline": lambda: direct(old, new, workspace), "replay": lambda: replay(old, new, ws)}
    wall, cpu = timed_rounds(candidates, rounds)
    print(f"replay of {len(result.runs)} recorded runs: {decisions:,} decisions ({result.routes:,} routes, "
          f"{result.charges:,} budget charges, {result.gates:,} gate evaluations) in {records:,} log records "
          f"({size / 1e6:.1f} MB); medians of {rounds} interleaved rounds")
    print(f"{'measure':<46}{'wall':>10}{'per second':>15}{'cpu':>10}{'per cpu second':>17}")
    for name, label, count, unit in (
            ("load", "start-up: load OLD and NEW bundles (not in rates)", 0, ""),
            ("read", "read: find, read, parse the logs", records, "rec"),
            ("baseline", "baseline: direct re-evaluation (see docstring)", decisions, "dec"),
            ("replay", "replay: read + re-evaluate + collect", decisions, "dec")):
        rates = (f"{count / wall[name]:>11,.0f} {unit}", f"{count / cpu[name]:>13,.0f} {unit}") if count else ("", "")
        print(f"{label:<46}{wall[name] * 1e3:>8.1f}ms{rates[0]:>15}{cpu[name] * 1e3:>8.1f}ms{rates[1]:>17}")
    rate, cpu_rate = decisions / wall["replay"], decisions / cpu["replay"]
    print(f"replay throughput: {rate:,.0f} decisions/s on the wall clock = {rate / TARGET:.2f}x the target "
          f"({TARGET:,}/s), {wall['baseline'] / wall['replay']:.2f}x the baseline; {cpu_rate:,.0f} per CPU second "
          f"= {cpu_rate / TARGET:.2f}x the target, {cpu['baseline'] / cpu['replay']:.2f}x the baseline")
    print(f"where the replay's time goes (CPU): reading {cpu['read'] / cpu['replay']:.0%}, re-evaluating and "
          f"collecting {1 - cpu['read'] / cpu['replay']:.0%} "
          f"({(cpu['replay'] - cpu['read']) / decisions * 1e6:.2f} us per decision)")
    print(f"target >= {TARGET:,} decisions/s: {'met' if rate >= TARGET else 'NOT met'} on the wall clock, "
          f"{'met' if cpu_rate >= TARGET else 'NOT met'} per CPU second (on a shared machine the wall clock also "
          f"counts other jobs' time); changed: {len(result.route_changes):,} routes, {len(result.gate_flips):,} gate "
          "verdicts")


def timed_rounds(candidates: dict, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall-clock and CPU seconds of each candidate, measured round-robin."""
    cpu: dict[str, list[float]] = {name: [] for name in candidates}

    def timed(name, fn):
        def run():
            started = time.process_time()
            fn()
            cpu[name].append(time.process_time() - started)
        return run

    wall = interleaved({name: timed(name, fn) for name, fn in candidates.items()}, rounds=rounds)
    return wall, {name: statistics.median(values) for name, values in cpu.items()}


def bench_shadow(old, new, rounds: int) -> None:
    router = old.with_shadow(new)
    keys = [f"user-{i}" for i in range(1000)]

    def keyed(target):
        route = target.route
        return lambda: [route("implementer", key=k) for k in keys]

    def plain(target):
        route = target.route
        return lambda: [route("architect") for _ in keys]

    times = interleaved({"route key": keyed(old), "shadow key": keyed(router),
                         "route": plain(old), "shadow": plain(router)}, rounds=rounds)
    print(f"\n{'route call (1,000 per round)':<34}{'plain':>12}{'shadowed':>12}{'ratio':>10}")
    for label, a, b in (("keyed (weighted split)", "route key", "shadow key"), ("unkeyed", "route", "shadow")):
        print(f"{label:<34}{times[a] / len(keys) * 1e6:>10.2f}us{times[b] / len(keys) * 1e6:>10.2f}us"
              f"{times[b] / times[a]:>9.2f}x")
    print(f"disagreement rate over the last {router.shadow_metrics()['window']:,.0f} decisions: "
          f"{router.shadow_metrics()['disagreement_rate']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="polc-bench-impact-") as tmp:
        base = Path(tmp)
        old_path, new_path = built(base / "old"), built(base / "new", CHANGES)
        old, new = load_snapshot(old_path), load_snapshot(new_path)
        record(old, base / "ws", args.runs)
        bench_replay(old_path, new_path, base / "ws", args.rounds)
        bench_shadow(old, new, args.rounds)


if __name__ == "__main__":
    main()
