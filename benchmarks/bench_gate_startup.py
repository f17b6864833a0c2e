"""Benchmark: how soon a router can evaluate gates, from the snapshot's expression IR vs source text.

    .venv/bin/python benchmarks/bench_gate_startup.py [--rounds 15] [--gates 200]

Builds one policy with N gates (two conditions, a let, two messages each, like the stdlib's),
then writes it twice as a bundle (compiler.bundle): as ``polc build`` writes it today (the
rules block ``polc_rules@v2``, every expression as checked IR) and with the same rules block as
polc wrote it before the IR (``polc_rules@v1``, source text only: the path this runtime keeps
for old snapshots, which parses and checks each expression on first use — the baseline).

Each measurement runs in a fresh Python process (bytecode cached, as an installed polc has it),
alternating the two snapshots round by round, and prints medians and ratios:

* first evaluation of one gate: ``snap.gate("g0").evaluate(metrics)`` right after
  ``load_snapshot`` (the imports it triggers included), with metrics that pass and with
  metrics that fail (a failure is explained: messages, observed values);
* N gates ready: ``load_snapshot`` + the first evaluation of every gate.

Targets: first evaluation under 5 ms; 200 gates ready in under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GATE = '''gate g{i} {{
  input metrics: {{p95_latency_ms: double, success_parity_percent: double, samples: double}}
  let limit = params.p95_latency_ms
  require metrics.p95_latency_ms <= limit
    message "gate {i}: p95 {{metrics.p95_latency_ms}} ms is above {{limit}} ms"
  require metrics.success_parity_percent >= params.success_parity_percent && metrics.samples >= 100.0
    message "gate {i}: parity {{metrics.success_parity_percent}}% is below {{params.success_parity_percent}}%"
}}
'''
PASSING = {"p95_latency_ms": 900, "success_parity_percent": 90.5, "samples": 250}
FAILING = {"p95_latency_ms": 2900, "success_parity_percent": 60, "samples": 250}

CHILD = r"""
import json, sys, time
path, mode, metrics = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
from compiler.runtime import load_snapshot
if mode == "one":
    snap = load_snapshot(path)
    wall, cpu = time.perf_counter(), time.process_time()
    snap.gate("g0").evaluate(metrics)
else:
    wall, cpu = time.perf_counter(), time.process_time()
    snap = load_snapshot(path)
    for name in snap.gates:  # the [gates.NAME] tables: every gate of this policy has one
        snap.gate(name).evaluate(metrics)
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def build_policy(workdir: Path, gates: int) -> dict:
    """The snapshot (as ``polc build`` writes it) of a project with ``gates`` gates."""
    from compiler import build

    (workdir / "rules").mkdir(parents=True)
    (workdir / "rules" / "gates.rules").write_text("".join(GATE.format(i=i) for i in range(gates)), encoding="utf-8")
    policy = (ROOT / "examples" / "model_policy.toml").read_text(encoding="utf-8")
    policy += "".join(f"\n[gates.g{i}]\np95_latency_ms = {1000 + i}\nsuccess_parity_percent = 85\n"
                      for i in range(gates))
    (workdir / "model_policy.toml").write_text(policy, encoding="utf-8")
    (workdir / "policy.toml").write_text('[project]\nname = "bench"\nversion = "1"\n[sources]\n'
                                         'model_policy = "model_policy.toml"\nrules = ["rules/gates.rules"]\n',
                                         encoding="utf-8")
    result = build(workdir, out_dir=str(workdir / "out"))
    if not result.ok:
        raise SystemExit(f"the benchmark policy does not build: {result.diagnostics[:3]}")
    return json.loads((result.bundle_dir / "snapshot.json").read_text(encoding="utf-8"))


def source_text_block(block: dict) -> dict:
    """The rules block as polc wrote it before the IR: the same entries, source text only."""
    def strip(entry):
        if isinstance(entry, dict):
            return {k: strip(v) for k, v in entry.items() if k not in ("node", "parts", "reads")}
        if isinstance(entry, list):
            return [strip(v) for v in entry]
        return entry

    return {"format": "polc_rules@v1", "gates": strip(block["gates"]), "drift": strip(block["drift"])}


def write_bundle(data: dict, out_dir: Path) -> Path:
    """``data`` (a snapshot) as a bundle written the way polc writes one; its identity recomputed."""
    from compiler.bundle import make_bundle, write_bundle as write

    content = {k: v for k, v in data.items() if k not in ("hash", "policy_id", "created_at")}
    return write(out_dir, make_bundle(content, created_at="2026-01-01T00:00:00Z"))


def child_env(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(cache), PYTHONPATH=str(ROOT), TMPDIR=str(cache))
    return env


def run_child(path: Path, mode: str, metrics: dict, env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child process) of one measurement."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, json.dumps(metrics)],
                         capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr}")
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--gates", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="polc-bench-gates-") as tmp:
        tmp = Path(tmp)
        snapshot = build_policy(tmp / "project", args.gates)
        paths = {"source text (v1)": write_bundle({**snapshot, "rules": source_text_block(snapshot["rules"])},
                                                  tmp / "source-text"),
                 "IR (v2)": write_bundle(snapshot, tmp / "ir")}
        env = child_env(tmp / "cache")
        cases = [("first evaluation of one gate, PASS", "one", PASSING),
                 ("first evaluation of one gate, FAIL (explained)", "one", FAILING),
                 (f"load + first evaluation of {args.gates} gates", "all", PASSING)]
        for path in paths.values():  # warm the bytecode cache (and lark's grammar cache for v1)
            run_child(path, "one", PASSING, env)
        samples = {(case, label): [] for case, _, _ in cases for label in paths}
        for _ in range(args.rounds):
            for case, mode, metrics in cases:
                for label, path in paths.items():
                    samples[(case, label)].append(run_child(path, mode, metrics, env))
        sizes = {label: (path / "snapshot.json").stat().st_size for label, path in paths.items()}
    print(f"snapshot with {args.gates} gates: " + ", ".join(f"{label} {size / 1024:.0f} KiB"
                                                           for label, size in sizes.items()))
    print(f"{'measure (wall clock; CPU time of the process)':<48} {'source text (v1)':>24} {'IR (v2)':>20} "
          f"{'ratio':>7}")
    for case, _, _ in cases:
        (old_wall, old_cpu), (new_wall, new_cpu) = (
            [statistics.median(sample[i] for sample in samples[(case, label)]) * 1e3 for i in (0, 1)]
            for label in paths)
        print(f"{case:<48} {old_wall:>8.1f} ms ({old_cpu:6.1f} cpu) {new_wall:>7.1f} ms ({new_cpu:5.1f} cpu) "
              f"{old_wall / new_wall:>6.1f}x")
    print(f"medians of {args.rounds} fresh processes each, run alternately; targets (IR): first evaluation "
          f"< 5 ms, {args.gates} gates ready < 100 ms. On a busy machine the wall clock includes waiting for a "
          "core; the CPU time is the work.")


if __name__ == "__main__":
    main()
