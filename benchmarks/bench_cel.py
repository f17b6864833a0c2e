"""CEL evaluation speed (E1-E4) and compile-time growth (1,000 -> 10,000 expressions).

Run: .venv/bin/python benchmarks/bench_cel.py [--quick]

Each decision is evaluated from a fresh Python dict per call (the dict is built inside every
candidate, so all pay the same). Candidates, measured round-robin in one run:

  hand-written   a plain Python function doing the same test
  polc compiled  compiler.cel.compile(expr, declarations).evaluate(bindings)
  polc interp    the same with backend="interp"
  cel-python     celpy (pure Python; bindings converted with json_to_cel per call)
  cel (Rust)     common-expression-language, if installed

It prints medians in µs/call, the same with the dict construction subtracted ("eval"), and
the ratio compiled / hand-written on both (target <= 2x). Then it times parse + check +
compile of 1,000 and 10,000 distinct gate-like expressions and prints the growth ratio
(linear growth gives about 10).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved  # noqa: E402
import compiler.cel as polc_cel  # noqa: E402

METRICS = {"p95_latency_ms": "double", "success_parity_percent": "double", "samples": "int"}
CHECKPOINT = {"learning_rate": "double", "curvature": {"max_gradient_norm": "double"}}
DECLARATIONS = {"metrics": METRICS, "limits": {"p95": "double"}, "models": "list(string)",
                "new": CHECKPOINT, "old": CHECKPOINT}


def fresh_bindings() -> dict:
    return {
        "metrics": {"p95_latency_ms": 1234.5, "success_parity_percent": 91.5, "samples": 250},
        "limits": {"p95": 2000.0},
        "models": ["gpt-4o", "llama-3-70b", "claude-3-5-sonnet"],
        "new": {"learning_rate": 0.0011, "curvature": {"max_gradient_norm": 1.0}},
        "old": {"learning_rate": 0.001, "curvature": {"max_gradient_norm": 1.0}},
    }


def e1(b):
    m = b["metrics"]
    return m["p95_latency_ms"] <= 2000.0 and m["success_parity_percent"] >= 85.0


def e2(b):
    m = b["metrics"]
    return m["samples"] >= 100 and m["p95_latency_ms"] <= b["limits"]["p95"] and \
        "gpt-4o" in b["models"]


def e3(b):
    models = b["models"]
    for m in models:
        if m.startswith("claude"):
            return len(models) <= 4
    return False


def e4(b):
    new = b["new"]
    return new["learning_rate"] <= b["old"]["learning_rate"] * 2.0 and \
        "max_gradient_norm" in new["curvature"]


DECISIONS = {
    "E1": ("metrics.p95_latency_ms <= 2000.0 && metrics.success_parity_percent >= 85.0", e1),
    "E2": ('metrics.samples >= 100 && metrics.p95_latency_ms <= limits.p95 && '
           '"gpt-4o" in models', e2),
    "E3": ('models.exists(m, m.startsWith("claude")) && size(models) <= 4', e3),
    "E4": ("new.learning_rate <= old.learning_rate * 2.0 && "
           "has(new.curvature.max_gradient_norm)", e4),
}


def candidates(expr: str, hand) -> dict:
    compiled = polc_cel.compile(expr, DECLARATIONS)
    interp = polc_cel.compile(expr, DECLARATIONS, backend="interp")
    expected = hand(fresh_bindings())
    assert compiled.evaluate(fresh_bindings()) == expected == interp.evaluate(fresh_bindings())
    found = {
        "dict only": lambda: fresh_bindings(),
        "hand-written": lambda: hand(fresh_bindings()),
        "polc compiled": lambda: compiled.evaluate(fresh_bindings()),
        "polc interp": lambda: interp.evaluate(fresh_bindings()),
    }
    found.update(_others(expr, expected))
    return found


def _others(expr: str, expected) -> dict:
    others = {}
    try:
        import celpy
        env = celpy.Environment()
        celpy_program = env.program(env.compile(expr))
        if bool(celpy_program.evaluate(celpy.json_to_cel(fresh_bindings()))) == expected:
            others["cel-python"] = lambda: celpy_program.evaluate(
                celpy.json_to_cel(fresh_bindings()))
    except Exception as err:  # a missing or failing third party is reported, not fatal
        print(f"  (cel-python unavailable: {err})")
    try:
        import cel as rust_cel
        rust_program = rust_cel.compile(expr)
        if rust_program.execute(fresh_bindings()) == expected:
            others["cel (Rust)"] = lambda: rust_program.execute(fresh_bindings())
    except Exception as err:
        print(f"  (common-expression-language unavailable: {err})")
    return others


def bench_decisions(rounds: int, number: int) -> None:
    print(f"{'':4} {'candidate':14} {'µs/call':>9} {'eval µs':>9} {'x hand':>7}")
    for name, (expr, hand) in DECISIONS.items():
        found = candidates(expr, hand)
        slow = {k: v for k, v in found.items() if k in ("cel-python",)}
        fast = {k: v for k, v in found.items() if k not in slow}
        medians = interleaved(fast, rounds=rounds, number=number)
        medians.update(interleaved(slow, rounds=rounds, number=max(1, number // 50)))
        base = medians.pop("dict only")
        hand_total, hand_eval = medians["hand-written"], medians["hand-written"] - base
        print(f"{name}: {DECISIONS[name][0]}")
        for label, seconds in medians.items():
            ratio = seconds / hand_total
            print(f"{'':4} {label:14} {seconds * 1e6:9.2f} {(seconds - base) * 1e6:9.2f} "
                  f"{ratio:7.2f}")
        compiled = medians["polc compiled"]
        print(f"{'':4} ratio compiled/hand-written: {compiled / hand_total:.2f}x with the dict, "
              f"{(compiled - base) / max(hand_eval, 1e-9):.2f}x evaluation only "
              f"(dict construction {base * 1e6:.2f} µs)")


def expressions(count: int) -> list[str]:
    return [f"metrics.samples >= {100 + i % 400} && metrics.p95_latency_ms <= {1000 + i}.0 && "
            f'models.exists(m, m.startsWith("family-{i}")) || limits.p95 > {i % 97}.5'
            for i in range(count)]


def bench_compile(sizes: tuple[int, ...]) -> None:
    results = {}
    for size in sizes:
        exprs = expressions(size)
        start = time.perf_counter()
        for i, expr in enumerate(exprs):
            polc_cel.compile(expr, DECLARATIONS, file="bench.rules", name=f"g{i}")
        results[size] = time.perf_counter() - start
        print(f"parse + check + compile of {size:>6,} expressions: {results[size]:8.2f} s "
              f"({results[size] / size * 1e3:.2f} ms each)")
    small, large = sizes[0], sizes[-1]
    print(f"growth {large:,}/{small:,}: {results[large] / results[small]:.2f} "
          f"(linear would be {large / small:.0f})")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    polc_cel.compile("1")  # build the parser outside the timings
    bench_decisions(rounds=7 if quick else 15, number=200 if quick else 2000)
    bench_compile((100, 1000) if quick else (1000, 10000))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
