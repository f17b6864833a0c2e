"""Build time of generated policies: 2,000 roles with 200 gate tables, and growth to 20,000 roles.

Run: .venv/bin/python benchmarks/bench_build.py
Prints the median build time (parse → check → lower → emit, in-process, fresh output dir each
round) per size and the ratio of each to the 2,000-role build; linear growth means ratio ≈ size ratio.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import median_time  # noqa: E402
from compiler import build  # noqa: E402


def generate(root: Path, roles: int, gates: int) -> Path:
    lines = ["[routing.cloud]"]
    lines += [f'role_{i} = ["model-{i % 17}", "model-{(i + 1) % 17}", "fallback-{i % 5}"]' for i in range(roles)]
    lines += ['[capture]', 'mode = "prompts_only"', "[budgets.tokens]"]
    lines += [f"stage_{i} = {1000 + i}" for i in range(max(1, roles // 10))]
    lines += ["[budgets.cost]", "warn_threshold = 5.0", "hard_limit = 25.0"]
    for g in range(gates):
        lines += [f"[gates.gate_{g}]", f"p95_latency_ms = {1000 + g}", "success_parity_percent = 85.5",
                  "enabled = true"]
    root.mkdir(parents=True, exist_ok=True)
    (root / "model_policy.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "policy.toml").write_text('[sources]\nmodel_policy = "model_policy.toml"\n', encoding="utf-8")
    return root


def timed_build(project: Path, rounds: int) -> float:
    def once():
        out = Path(tempfile.mkdtemp())
        try:
            result = build(project, out_dir=out)
            assert result.ok, result.diagnostics[:3]
        finally:
            shutil.rmtree(out, ignore_errors=True)

    once()  # warm imports and caches
    return median_time(once, rounds=rounds)


def main() -> None:
    work = Path(tempfile.mkdtemp())
    try:
        sizes = [(2_000, 200), (5_000, 200), (10_000, 200), (20_000, 200)]
        base = None
        print(f"{'roles':>7} {'gates':>6} {'median build':>14} {'vs 2,000':>9} {'size ratio':>11}")
        for roles, gates in sizes:
            seconds = timed_build(generate(work / f"p{roles}", roles, gates), rounds=5 if roles <= 5_000 else 3)
            base = base or seconds
            print(f"{roles:>7,} {gates:>6} {seconds * 1000:>11.1f} ms {seconds / base:>8.2f}x {roles / 2000:>10.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
