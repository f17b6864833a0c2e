"""Benchmark of the rules language: parse + check + code generation of N gates, and gate evaluation.

    .venv/bin/python benchmarks/bench_rules.py [--sizes 1000,10000] [--repeat 3]

Prints, for each size, the median seconds of each phase and per gate, and the ratio of the
largest size to the smallest (linear growth: the ratio of times is about the ratio of sizes).
Then the median µs per gate evaluation of a compiled stdlib-style gate beside a hand-written
Python function doing the same checks, measured side by side in this run, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GATE = '''gate g{i} {{
  input metrics: map(string, double)
  let limit = {limit}.0
  require metrics.p95_latency_ms <= limit
    message "gate {i}: p95 {{metrics.p95_latency_ms}} ms is above {{limit}} ms"
  require metrics.success_parity_percent >= 85.0 && metrics.samples >= 100.0
    message "gate {i}: parity {{metrics.success_parity_percent}}%"
}}
'''


def source(n: int) -> str:
    return "".join(GATE.format(i=i, limit=1000 + i % 1000) for i in range(n))


def run_once(n: int) -> dict[str, float]:
    from compiler.rules.check import check_rules
    from compiler.rules.loader import RuleSet
    from compiler.rules.lower import lower_rules_block
    from compiler.rules.parser import parse_rules
    from compiler.rules.runtime import build_gate

    text = source(n)
    t0 = time.perf_counter()
    parsed = parse_rules(text, "bench.rules")
    t1 = time.perf_counter()
    checked = check_rules(RuleSet((parsed,), (), ()), {})
    assert not [d for d in checked.diagnostics if d.is_error], checked.diagnostics[:3]
    block = lower_rules_block(checked)
    t2 = time.perf_counter()
    for name in block["gates"]:
        gate = build_gate(block, name)
        gate.generated_source()  # the PASS test and every condition's program
    t3 = time.perf_counter()
    return {"parse": t1 - t0, "check": t2 - t1, "compile": t3 - t2, "total": t3 - t0}


def phases(n: int, repeat: int) -> dict[str, float]:
    runs = [run_once(n) for _ in range(repeat)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def hand_written(metrics: dict) -> tuple[bool, list]:
    failures = []
    if not metrics["p95_latency_ms"] <= 2000.0:
        failures.append("p95")
    if not (metrics["success_parity_percent"] >= 85.0 and metrics["samples"] >= 100.0):
        failures.append("parity")
    return not failures, failures


def per_call_us(fn, make_arg, calls: int = 20_000, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for i in range(calls):
            fn(make_arg(i))
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)


def evaluation() -> tuple[float, float]:
    from compiler.rules.check import check_rules
    from compiler.rules.loader import RuleSet
    from compiler.rules.lower import lower_rules_block
    from compiler.rules.parser import parse_rules
    from compiler.rules.runtime import build_gate

    text = GATE.format(i=0, limit=2000)
    block = lower_rules_block(check_rules(RuleSet((parse_rules(text, "e.rules"),), (), ()), {}))
    gate = build_gate(block, "g0")

    def metrics(i):  # a fresh dict per call, as a router would pass
        return {"p95_latency_ms": 1500.0 + i % 7, "success_parity_percent": 90.0, "samples": 500.0}

    assert gate.evaluate(metrics(0)).passed and hand_written(metrics(0))[0]
    return per_call_us(gate.evaluate, metrics), per_call_us(hand_written, metrics)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    phases(50, 1)  # warm-up: parser tables, regex compilation, imports
    print(f"{'gates':>8} {'parse s':>9} {'check s':>9} {'compile s':>10} {'total s':>9} {'µs/gate':>9}")
    results = {}
    for n in sizes:
        r = results[n] = phases(n, args.repeat)
        print(f"{n:>8} {r['parse']:>9.3f} {r['check']:>9.3f} {r['compile']:>10.3f} {r['total']:>9.3f} "
              f"{r['total'] / n * 1e6:>9.0f}")
    small, large = sizes[0], sizes[-1]
    print(f"growth {small} -> {large} gates ({large / small:.0f}x): total time x"
          f"{results[large]['total'] / results[small]['total']:.2f} (linear = x{large / small:.0f})")
    compiled, baseline = evaluation()
    print(f"gate.evaluate (2 conditions, code generated from the IR): {compiled:.2f} µs/call; hand-written Python: "
          f"{baseline:.2f} µs/call; ratio {compiled / baseline:.1f}x")


if __name__ == "__main__":
    main()
