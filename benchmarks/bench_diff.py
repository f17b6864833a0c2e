"""`polc diff` over two generated policies: 2,000 roles, and how it grows to 20,000 roles.

Run: .venv/bin/python benchmarks/bench_diff.py [--quick]
NEW differs from OLD in about a fifth of its roles (a model swapped, a list reordered, roles
added and removed), a budget and a gate. Measured in-process, interleaved per size:

* ``read+verify``  the floor: read both snapshot.json files and recompute their content hashes;
* ``structural``    the structural diff alone, of the two loaded snapshots;
* ``drift rules``   the drift rules alone (the CEL engine's evaluation of stdlib/drift.rules);
* ``diff snapshots`` the whole review of the two files (read, verify, structural diff, drift
  rules, JSON report and text rendering);
* ``diff sources`` the same from the two source projects (both compiled on the fly; one round
  by default, as it is mostly the compiler's time, see bench_build.py).

Prints medians, the ratio of each size to the 2,000-role run (linear growth: ≈ size ratio)
and the ratio of the review to its read+verify floor.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved  # noqa: E402

SIZES = (2_000, 20_000)


def policy_text(roles: int, variant: str) -> str:
    new = variant == "new"
    lines = ["[routing.cloud]"]
    for i in range(roles):
        if new and i % 97 == 0:
            continue  # removed role
        models = [f"model-{i % 17}", f"model-{(i + 1) % 17}", f"fallback-{i % 5}"]
        if new and i % 10 == 1:
            models[1] = f"model-new-{i % 13}"
        if new and i % 10 == 2:
            models.reverse()
        lines.append(f'role_{i} = {models!r}'.replace("'", '"'))
    if new:
        lines += [f'added_role_{i} = ["model-{i % 17}"]' for i in range(roles // 100)]
    lines += ["[capture]", 'mode = "prompts_only"', "[budgets.tokens]"]
    lines += [f"stage_{i} = {(3000 if new and i == 0 else 1000) + i}" for i in range(max(1, roles // 10))]
    lines += ["[budgets.cost]", "warn_threshold = 5.0", "hard_limit = 25.0"]
    lines += ["[gates.reflex_promotion]", f"p95_latency_ms = {2500 if new else 2000}", "success_parity_percent = 85"]
    return "\n".join(lines) + "\n"


def prepare(work: Path, roles: int) -> dict[str, str]:
    from compiler.canonical import canonical_json
    from compiler.diff.inputs import compile_project
    from compiler.diff.model import SideInfo

    names = {}
    for variant in ("old", "new"):
        root = work / f"{variant}_{roles}"
        root.mkdir(parents=True)
        (root / "model_policy.toml").write_text(policy_text(roles, variant), encoding="utf-8")
        (root / "policy.toml").write_text('[sources]\nmodel_policy = "model_policy.toml"\n', encoding="utf-8")
        side = compile_project(root, SideInfo(variant, "source"), work)
        assert side.compiled, side.diagnostics[:3]
        (work / f"{variant}_{roles}.json").write_bytes(canonical_json(side.snapshot))
        names[variant] = root.name
    return names


def candidates(work: Path, roles: int) -> tuple[dict, dict]:
    """(review of snapshot files and its floor, review of source projects)."""
    from compiler.diff import artifacts, rule_source
    from compiler.diff.drift import evaluate_drift
    from compiler.diff.render_text import render_text
    from compiler.diff.structural import diff_snapshots
    from compiler.diff.report_json import to_json
    from compiler.diff.review import review_args

    old, new = f"old_{roles}.json", f"new_{roles}.json"

    def floor():
        artifacts.load_file(work / old)[1]
        artifacts.load_file(work / new)[1]

    def review(a: str, b: str):
        def run():
            report = review_args(a, b, cwd=work)
            to_json(report)
            render_text(report)
            return report
        return run

    old_snap = artifacts.load_file(work / old)[1]
    new_snap = artifacts.load_file(work / new)[1]

    def drift_rules():
        rules, _ = rule_source.load(old_snap, new_snap, {}, {})
        return evaluate_drift(old_snap, new_snap, rules)

    return ({"read+verify": floor, "structural": lambda: diff_snapshots(old_snap, new_snap),
             "drift rules": drift_rules, "diff snapshots": review(old, new)},
            {"diff sources": review(f"old_{roles}", f"new_{roles}")})


def main(quick: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="polc-bench-diff-"))
    results: dict[int, dict[str, float]] = {}
    changes = {}
    for roles in SIZES:
        prepare(work, roles)
        files, sources = candidates(work, roles)
        report = files["diff snapshots"]()  # also the warm-up: imports, caches
        changes[roles] = (len(report.changes), len(report.findings))
        files["read+verify"]()
        results[roles] = interleaved(files, rounds=3 if quick else 5)
        # Compiling two projects is the compiler's cost (bench_build.py); one round keeps this short.
        results[roles].update(interleaved(sources, rounds=1 if quick or "--sources-rounds" not in sys.argv else 3))
    base = SIZES[0]
    print(f"{'candidate':<16}" + "".join(f"{f'{n:,} roles':>16}" for n in SIZES) + f"{'growth':>10}{'vs floor':>18}")
    for name in results[base]:
        row = f"{name:<16}" + "".join(f"{results[n][name] * 1000:>13.1f} ms" for n in SIZES)
        growth = results[SIZES[-1]][name] / results[base][name]
        floor = " / ".join(f"{results[n][name] / results[n]['read+verify']:.2f}x" for n in SIZES)
        print(row + f"{growth:>9.2f}x" + f"{floor:>18}")
    print(f"size ratio {SIZES[-1] / base:.0f}x; changes/findings: "
          + ", ".join(f"{n:,} roles: {c} changes, {f} findings" for n, (c, f) in changes.items()))


if __name__ == "__main__":
    main("--quick" in sys.argv)
