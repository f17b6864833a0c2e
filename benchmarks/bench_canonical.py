"""Canonical JSON speed: polc's canonical_json and the rfc8785 package against json.dumps.

Builds a ~1 MB snapshot-like object (routing tables, gate parameter tables, budgets: strings,
ints, floats such as 0.85 and 5.0, lists) and times the three encoders side by side,
interleaved round by round so machine noise hits them alike. Prints medians and the ratios
polc/json and rfc8785/json (the target for polc is <= 1.5x).

    .venv/bin/python benchmarks/bench_canonical.py [--rounds 30] [--size-mb 1.0]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from compiler.canonical import canonical_json


def snapshot_like(target_bytes: int, seed: int = 7) -> dict:
    """A PolicySnapshot-shaped object whose compact JSON is about ``target_bytes`` long."""
    rng = random.Random(seed)
    models = [f"model-{m}-{rng.randrange(10**6)}" for m in range(40)]
    snapshot: dict = {
        "schema_version": "1.0", "source_files": ["docs/MODEL-POLICY.md", "model_policy.toml"],
        "capture": {"mode": "prompts_only", "store_embeddings": True},
        "budgets": {"tokens": {}, "cost": {"warn_threshold": 5.0, "hard_limit": 25.0}},
        "routing": {"cloud": {}, "reflex": {"enabled": False, "endpoint": "http://127.0.0.1:3009/v1"}},
        "gates": {},
    }
    index = 0
    while len(json.dumps(snapshot, separators=(",", ":"))) < target_bytes:
        for _ in range(200):
            index += 1
            snapshot["routing"]["cloud"][f"role_{index:05d}"] = rng.sample(models, 3)
            snapshot["budgets"]["tokens"][f"stage_{index:05d}"] = rng.randrange(1000, 20000)
            snapshot["gates"][f"gate_{index:05d}"] = {
                "p95_latency_ms": rng.randrange(100, 5000), "success_parity_percent": 85,
                "threshold": rng.choice([0.85, 5.0, 0.5, 12.25, 1e-3]), "ratio": rng.random(),
                "enabled": rng.random() < 0.5,
                "description": f"gate {index}" if index % 10 else f"gate {index}: \"quoted\" \\ path",
                "stages": ["plan", "tasks", "implement"][: rng.randrange(1, 4)],
            }
    return snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--size-mb", type=float, default=1.0)
    args = parser.parse_args()
    obj = snapshot_like(int(args.size_mb * 1024 * 1024))

    encoders = {"json.dumps(sort_keys)": lambda: json.dumps(obj, sort_keys=True, separators=(",", ":")),
                "polc canonical_json": lambda: canonical_json(obj)}
    try:
        import rfc8785
        encoders["rfc8785.dumps"] = lambda: rfc8785.dumps(obj)
        assert rfc8785.dumps(obj) == canonical_json(obj), "polc and rfc8785 disagree"
    except ImportError:
        print("rfc8785 is not installed (pip install '.[bench]'); its column is skipped")

    times: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(args.rounds):
        for name, encode in encoders.items():
            start = time.perf_counter()
            encode()
            times[name].append(time.perf_counter() - start)

    size = len(canonical_json(obj))
    print(f"object: {size / 1024 / 1024:.2f} MB canonical JSON, {args.rounds} interleaved rounds")
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    baseline = medians["json.dumps(sort_keys)"]
    for name, median in medians.items():
        print(f"  {name:24s} median {median * 1000:8.2f} ms   ratio vs json {median / baseline:5.2f}x")


if __name__ == "__main__":
    main()
