"""Decision impact: replay throughput and the cost of shadow evaluation, medians side by side.

* Replay: examples/full is built as it is (OLD) and with its implementer canary at 50% and the
  reflex gate's latency limit at 1500 ms (NEW); RUNS runs are recorded with the runtime under
  OLD, each as a router makes them: one architect route, 20 implementer calls (a keyed route and
  a ``charge_call`` each), the prompt_quality gate on the bundle's scorecard and the reflex gate
  on measured metrics. ``compiler.impact.replay.replay`` re-evaluates every decision under OLD
  and NEW; the figure is decisions per second (target: at least 100,000/s), beside its floor
  (finding, reading and parsing the same logs, nothing re-evaluated).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved  # noqa: E402
from compiler import build  # noqa: E402
from compiler.impact.replay import replay  # noqa: E402
from compiler.impact.replay_inputs import find_runs  # noqa: E402
from compiler.runtime import load_snapshot  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "full"
CHANGES = (('"claude-sonnet-4-20250514" = 90\ngpt-4o = 10', '"claude-sonnet-4-20250514" = 50\ngpt-4o = 50'),
           ("p95_latency_ms = 2000", "p95_latency_ms = 1500"))
CALLS_PER_RUN = 20


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


def bench_replay(old, new, workspace: Path, rounds: int) -> None:
    result = replay(old, new, [str(workspace)])   # warm: gates compiled, files in the page cache
    decisions, records = result.decisions, sum(len(r.replay.records) + len(r.events.records)
                                              for r in find_runs([str(workspace)]))
    cpu = {"floor": [], "replay": []}

    def timed(name, fn):
        def run():
            started = time.process_time()
            fn()
            cpu[name].append(time.process_time() - started)
        return run

    times = interleaved({"floor": timed("floor", lambda: find_runs([str(workspace)])),
                         "replay": timed("replay", lambda: replay(old, new, [str(workspace)]))}, rounds=rounds)
    cpu_times = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"replay of {len(result.runs)} recorded runs: {decisions} decisions ({result.routes} routes, "
          f"{result.charges} budget charges, {result.gates} gate evaluations) in {records} log records")
    print(f"{'measure':<34}{'wall':>10}{'per second':>16}{'cpu':>10}{'per cpu second':>18}{'ratio':>8}")
    for name, label, count, unit in (("floor", "floor: find, read, parse the logs", records, "rec"),
                                     ("replay", "replay under OLD and NEW", decisions, "dec")):
        print(f"{label:<34}{times[name] * 1e3:>8.1f}ms{count / times[name]:>12,.0f} {unit}"
              f"{cpu_times[name] * 1e3:>8.1f}ms{count / cpu_times[name]:>14,.0f} {unit}"
              f"{times[name] / times['floor']:>7.2f}x")
    rate, cpu_rate = decisions / times["replay"], decisions / cpu_times["replay"]
    print(f"target: >= 100,000 decisions/s: {'met' if rate >= 100_000 else 'NOT met'} on the wall clock "
          f"({rate:,.0f}/s), {'met' if cpu_rate >= 100_000 else 'NOT met'} per CPU second ({cpu_rate:,.0f}/s; "
          "on a shared machine the wall clock also counts other jobs' time); "
          f"changed: {len(result.route_changes)} routes, {len(result.gate_flips)} gate verdicts")


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
        old, new = load_snapshot(built(base / "old")), load_snapshot(built(base / "new", CHANGES))
        record(old, base / "ws", args.runs)
        bench_replay(old, new, base / "ws", args.rounds)
        bench_shadow(old, new, args.rounds)


if __name__ == "__main__":
    main()
