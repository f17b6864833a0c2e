"""Runtime speed, each figure beside a baseline measured in the same run (medians, ratios).

* load_snapshot of a ~1 MB bundle vs ``json.loads`` + ``hashlib.sha256`` of the same bytes
  (target: within 2x). The bundle is written the way polc writes one (canonical JSON, a
  manifest with file hashes), so every check of a real load runs.
* ``snap.route(role)`` vs a plain dict lookup of a precomputed list (target: within 3x).
* a budget charge (lock, checks, decimal add) vs a bare ``with lock: total += n``.
* gate evaluation (``snap.gate(...).evaluate``, the compiled CEL gate) vs a hand-written Python
  function doing the same comparisons (target: within 2x), with cel-python and
  common-expression-language on the same decisions when they are installed (bench extra).
* ``import compiler.runtime`` vs ``python -c pass``, in fresh processes.

    .venv/bin/python benchmarks/bench_runtime.py [--rounds 9] [--size-mb 1.0]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved  # noqa: E402
from compiler.canonical import canonical_json  # noqa: E402
from compiler.runtime import load_snapshot  # noqa: E402
from compiler.bundle import make_bundle  # noqa: E402
from compiler.bundle import write_bundle as store_bundle  # noqa: E402

GOOD = {"p95_latency_ms": 1800.0, "success_parity_percent": 91.0}


def big_content(target_bytes: int) -> dict:
    """Snapshot content of about ``target_bytes``: many roles, stages and gate tables."""
    content = {"schema_version": "1.0", "source_files": ["model_policy.toml"], "model_config": {}, "weights": {},
               "prompts": {}, "capture": {"mode": "prompts_only", "store_embeddings": True},
               "routing": {"cloud": {}, "fallback": {}, "stages": {},
                           "reflex": {"enabled": True, "endpoint": "http://127.0.0.1:3009/v1", "model": "qwen",
                                      "roles": None, "gate": "reflex_promotion"}},
               "budgets": {"tokens": {}, "cost": {"warn_threshold": 5.0, "hard_limit": 25.0, "currency": "USD"}},
               "gates": {"reflex_promotion": {"p95_latency_ms": 2000, "success_parity_percent": 85}}}
    i = 0
    while len(canonical_json(content)) < target_bytes:
        for _ in range(500):
            i += 1
            content["routing"]["cloud"][f"role_{i:06d}"] = [f"model-{i % 37}", f"model-{i % 11}-b", "gpt-4o"]
            content["routing"]["fallback"][f"role_{i:06d}"] = [f"fallback-{i % 5}"]
            content["budgets"]["tokens"][f"stage_{i:06d}"] = 1000 + i
            content["gates"][f"gate_{i:06d}"] = {"p95_latency_ms": i, "ratio": 0.85, "enabled": i % 2 == 0}
    return content


def write_bundle(out: Path, content: dict) -> Path:
    """``content`` sealed and written the way polc writes a bundle (compiler.bundle's make_bundle)."""
    return store_bundle(out, make_bundle(content, created_at="2026-01-01T00:00:00Z"))


def bench_load(rounds: int, size_mb: float) -> None:
    out = Path(tempfile.mkdtemp(prefix="polc-bench-"))
    bundle = write_bundle(out, big_content(int(size_mb * 1024 * 1024)))
    raw_path = bundle / "snapshot.json"
    size = raw_path.stat().st_size

    def baseline():
        data = raw_path.read_bytes()
        json.loads(data)
        hashlib.sha256(data).hexdigest()

    times = interleaved_without_gc({"json.loads + sha256": baseline,
                                    "load_snapshot": lambda: load_snapshot(bundle, env={})}, rounds=rounds * 3)
    base, ours = times["json.loads + sha256"], times["load_snapshot"]
    print(f"load_snapshot ({size / 1e6:.2f} MB bundle): {ours * 1e3:.1f} ms   baseline json.loads+sha256 "
          f"{base * 1e3:.1f} ms   ratio {ours / base:.2f}x (target <= 2x)")


def interleaved_without_gc(candidates: dict, *, rounds: int) -> dict[str, float]:
    """Medians of interleaved single calls, each after a full collection and with the cyclic GC
    off, so a collection triggered by one candidate's garbage is not billed to the other."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_route(snap, rounds: int) -> None:
    precomputed = {role: list(snap.route(role)) for role in snap.roles}
    role = snap.roles[len(snap.roles) // 2]
    n = 200_000
    times = interleaved({"dict lookup": lambda: precomputed[role], "snap.route": lambda: snap.route(role)},
                        rounds=rounds, number=n)
    base, ours = times["dict lookup"], times["snap.route"]
    print(f"snap.route: {ours * 1e6:.3f} us/call   dict lookup {base * 1e6:.3f} us/call   "
          f"ratio {ours / base:.2f}x (target <= 3x)")


def bench_budget(snap, rounds: int) -> None:
    lock, total = threading.Lock(), [0]

    def baseline():
        with lock:
            total[0] += 7

    def charge_once():
        tracker = snap.budget_tracker("bench")
        for _ in range(1000):
            tracker.charge("plan", tokens=7, cost=0.001)

    def baseline_1000():
        for _ in range(1000):
            baseline()

    times = interleaved({"lock + int add": baseline_1000, "tracker.charge": charge_once}, rounds=rounds, number=20)
    base, ours = times["lock + int add"] / 1000, times["tracker.charge"] / 1000
    print(f"budget charge: {ours * 1e6:.2f} us/call   bare lock+add {base * 1e6:.3f} us/call   ratio {ours / base:.1f}x")


def bench_gate(snap, rounds: int) -> None:
    gate = snap.gate("reflex_promotion")
    params = {k: float(v) for k, v in snap.gates["reflex_promotion"].items()}
    gate.evaluate(GOOD)  # compile once, outside the timing

    def by_hand(metrics):
        failures = []
        if not metrics["p95_latency_ms"] <= params["p95_latency_ms"]:
            failures.append("p95")
        if not metrics["success_parity_percent"] >= params["success_parity_percent"]:
            failures.append("parity")
        return not failures, failures

    candidates = {"hand-written": lambda: by_hand(GOOD), "snap.gate.evaluate": lambda: gate.evaluate(GOOD)}
    expr = ("metrics.p95_latency_ms <= params.p95_latency_ms && "
            "metrics.success_parity_percent >= params.success_parity_percent")
    try:
        import celpy

        env = celpy.Environment()
        program = env.program(env.compile(expr))
        activation = {"metrics": celpy.json_to_cel(GOOD), "params": celpy.json_to_cel(params)}
        candidates["cel-python"] = lambda: program.evaluate(activation)
    except ImportError:
        print("  (cel-python not installed: pip install '.[bench]')")
    try:
        import cel

        rust_program = cel.compile(expr)
        rust_vars = {"metrics": GOOD, "params": params}
        candidates["common-expression-language"] = lambda: rust_program.execute(rust_vars)
    except ImportError:
        print("  (common-expression-language not installed: pip install '.[bench]')")
    times = interleaved(candidates, rounds=rounds, number=2000)
    base = times["hand-written"]
    for name, seconds in times.items():
        target = " (target <= 2x)" if name == "snap.gate.evaluate" else ""
        print(f"gate {name:<28} {seconds * 1e6:8.2f} us/call   ratio {seconds / base:6.2f}x{target}")


def bench_import(rounds: int) -> None:
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    base, ours = [], []
    for _ in range(rounds):
        base.append(run("pass"))
        ours.append(run("import compiler.runtime"))
    b, o = statistics.median(base), statistics.median(ours)
    print(f"import compiler.runtime: {o * 1e3:.1f} ms   python -c pass {b * 1e3:.1f} ms   "
          f"ratio {o / b:.2f}x   (+{(o - b) * 1e3:.1f} ms)")


def example_snapshot():
    from compiler import build
    from tests.conftest import make_project
    from tests.runtime.conftest import RICH_POLICY

    result = build(make_project(Path(tempfile.mkdtemp(prefix="polc-bench-")) / "p", RICH_POLICY))
    if not result.ok:
        raise SystemExit(f"the example policy does not build: {[d.message for d in result.diagnostics]}")
    return load_snapshot(result.bundle_dir, env={})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--size-mb", type=float, default=1.0)
    args = parser.parse_args()
    snap = example_snapshot()
    bench_load(args.rounds, args.size_mb)
    bench_route(snap, args.rounds)
    bench_budget(snap, args.rounds)
    bench_gate(snap, args.rounds)
    bench_import(args.rounds)


if __name__ == "__main__":
    main()
