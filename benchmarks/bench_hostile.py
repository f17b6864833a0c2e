"""Check and build time of big but legal sources: growth must be linear.

Run: .venv/bin/python benchmarks/bench_hostile.py [--rounds N] [--sizes 10000,100000]
The issue's figures (10k, 100k and 500k entries): --sizes 10000,100000,500000 (about 10 minutes
on 2 cores); the default sizes finish in about two.

For each size of ``[budgets.tokens]`` (model_policy.toml) and of surface features (the surface
YAML), it prints the median in-process ``check`` and ``build`` time (fresh output dir each round),
the cost per entry, and the growth from the previous size next to the size ratio: linear growth
means the two are about equal (time(500k) / time(100k) about 5); then the three slowest stages
of one check of the largest size. The inputs come from tests/hostile/generators.py. A surface of
500k features is 32 MB, above the 16 MiB limit of a policy source: it is refused before it is
read (POLC004), so the surface series stops at the largest size under the limit (250k) and
times that refusal.

Baselines, side by side in the same run:

* the budget prover as check_budgets ran it before: ``prove`` (every stage's capped figures)
  where the check now runs ``prove_run`` (the run's findings only);
* the garbage collector at CPython's default thresholds (700, 10, 10), where the pipeline now
  runs its stages at ``RUN_GC_THRESHOLDS``: one check of the largest budgets size under each;
* the TOML front end this replaced: tomlkit (``tomlkit.parse(text).unwrap()``), which grows
  faster than the text, next to the standard library's ``tomllib`` plus polc's position index
  (sizes up to 100k only: tomlkit on 500k entries takes minutes).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved, median_time  # noqa: E402
from compiler.pipeline import build, check  # noqa: E402
from tests.hostile import generators as gen  # noqa: E402


#: Features of the generated surface (about 64 bytes each) that fit under the 16 MiB source limit.
MAX_SURFACE_FEATURES = 250_000


def project(root: Path, kind: str, size: int) -> Path:
    root.mkdir(parents=True)
    if kind == "budgets":
        (root / "model_policy.toml").write_text(gen.budgets_policy(size), encoding="utf-8")
        (root / "policy.toml").write_text(gen.project_toml(), encoding="utf-8")
    else:
        (root / "model_policy.toml").write_text(gen.SMALL_POLICY, encoding="utf-8")
        (root / "surface.yaml").write_text(gen.surface_features(size), encoding="utf-8")
        (root / "policy.toml").write_text(gen.project_toml(surface=True), encoding="utf-8")
    return root


def slowest_stages(root: Path, count: int = 3) -> str:
    from compiler.pipeline import last_check_stage, run_pipeline

    timings = sorted(run_pipeline(root, until=last_check_stage()).timings, key=lambda t: -t[1])[:count]
    return ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings)


def refusal_time(work: Path, size: int) -> float:
    root = project(work / f"surface-{size}-refused", "surface", size)

    def run_check():
        assert any(d.code == "POLC004" for d in check(root))

    return median_time(run_check, rounds=3)


def timed(root: Path, rounds: int) -> tuple[float, float]:
    def run_check():
        found = check(root)
        assert not [d for d in found if d.is_error], found[:3]

    def run_build():
        out = Path(tempfile.mkdtemp())
        try:
            result = build(root, out_dir=out)
            assert result.ok, result.diagnostics[:3]
        finally:
            shutil.rmtree(out, ignore_errors=True)

    run_check()  # warm: imports, schema and stdlib caches are paid once, not by the first size
    return median_time(run_check, rounds=rounds), median_time(run_build, rounds=rounds)


def growth_table(work: Path, kind: str, sizes: list[int], rounds: int) -> Path:
    print(f"{'size':>9} {'MB':>6} {'check':>9} {'µs/entry':>9} {'build':>9} {'µs/entry':>9} "
          f"{'check growth':>13} {'build growth':>13} {'size growth':>12}")
    previous, root = None, None
    for size in sizes:
        root = project(work / f"{kind}-{size}", kind, size)
        megabytes = sum(p.stat().st_size for p in root.iterdir()) / 1e6
        check_s, build_s = timed(root, rounds)
        growth = (f"{check_s / previous[0]:>12.1f}x {build_s / previous[1]:>12.1f}x {size / previous[2]:>11.1f}x"
                  if previous else f"{'':>13} {'':>13} {'':>12}")
        print(f"{size:>9,} {megabytes:>6.1f} {check_s:>8.2f}s {check_s / size * 1e6:>9.1f} {build_s:>8.2f}s "
              f"{build_s / size * 1e6:>9.1f} {growth}", flush=True)
        previous = (check_s, build_s, size)
    print(f"  slowest stages of one check at {sizes[-1]:,}: {slowest_stages(root)}")
    return root


def prover_baseline(sizes: list[int], rounds: int) -> None:
    from compiler.frontend.toml import parse_toml
    from compiler.impact.prover import prove, prove_run
    from compiler.passes.budget_proof import policy_blocks
    from compiler.sources import Source

    print("\nbudget prover on [budgets.tokens], side by side (median seconds; baseline: prove, what "
          "check_budgets ran before)")
    print(f"{'entries':>9} {'prove':>9} {'prove_run':>10} {'speed-up':>9} {'µs/entry':>9}")
    for size in sizes:
        text = gen.budgets_policy(size)
        blocks = policy_blocks(parse_toml(Source("model_policy.toml", None, text, "", len(text))).data)
        times = interleaved({"prove": lambda: prove(blocks), "run": lambda: prove_run(blocks)}, rounds=rounds)
        print(f"{size:>9,} {times['prove']:>8.2f}s {times['run']:>9.2f}s {times['prove'] / times['run']:>8.1f}x "
              f"{times['run'] / size * 1e6:>9.1f}", flush=True)


def collector_baseline(root: Path, size: int, rounds: int) -> None:
    import gc

    from compiler import pipeline

    relaxed = pipeline.RUN_GC_THRESHOLDS
    defaults = (700, 10, 10)  # CPython's

    def check_at(thresholds):
        def run():
            pipeline.RUN_GC_THRESHOLDS = thresholds
            try:
                check(root)
            finally:
                pipeline.RUN_GC_THRESHOLDS = relaxed
        return run

    assert gc.get_threshold() == defaults, gc.get_threshold()
    times = interleaved({"default": check_at(defaults), "run": check_at(relaxed)}, rounds=rounds)
    print(f"\ncheck of {size:,} [budgets.tokens] entries, side by side (median seconds; baseline: the "
          f"collector's default thresholds {defaults})")
    print(f"  default {times['default']:.2f}s, RUN_GC_THRESHOLDS {relaxed}: {times['run']:.2f}s, "
          f"{times['default'] / times['run']:.1f}x")


def toml_baseline(sizes: list[int], rounds: int) -> None:
    import tomllib

    import tomlkit

    from compiler.frontend.tomlspans import index_toml

    print("\nTOML front end, side by side (median seconds; baseline: tomlkit, the parser this replaced)")
    print(f"{'entries':>9} {'tomlkit':>10} {'tomllib+index':>14} {'speed-up':>9}")
    for size in [s for s in sizes if s <= 100_000]:
        text = gen.budgets_policy(size)
        times = interleaved({"tomlkit": lambda: tomlkit.parse(text).unwrap(),
                             "polc": lambda: (tomllib.loads(text), index_toml("m.toml", text))}, rounds=rounds)
        print(f"{size:>9,} {times['tomlkit']:>9.2f}s {times['polc']:>13.2f}s {times['tomlkit'] / times['polc']:>8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000",
                        help="entries per series, comma-separated (the issue's: 10000,100000,500000)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = Path(tempfile.mkdtemp(prefix="polc-bench-hostile-"))
    try:
        print(f"[budgets.tokens] entries: median of {args.rounds} rounds, in-process")
        largest_budgets = growth_table(work, "budgets", sizes, args.rounds)
        print(f"\nsurface features: median of {args.rounds} rounds, in-process")
        growth_table(work, "surface", sorted({min(s, MAX_SURFACE_FEATURES) for s in sizes}), args.rounds)
        if max(sizes) > MAX_SURFACE_FEATURES:
            print(f"  {max(sizes):,} features ({max(sizes) * 64 / 1e6:.0f} MB) are refused by the 16 MiB source "
                  f"limit in {refusal_time(work, max(sizes)) * 1000:.0f} ms (POLC004)")
        prover_baseline(sizes, args.rounds)
        collector_baseline(largest_budgets, max(sizes), args.rounds)
        toml_baseline(sizes, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
