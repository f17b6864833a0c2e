"""Check and build time of big but legal sources: growth must be linear.

Run: .venv/bin/python benchmarks/bench_hostile.py [--rounds N] [--sizes 10000,100000,500000]

For 10k, 100k and 500k entries of ``[budgets.tokens]`` (model_policy.toml) and of surface
features (the surface YAML), it prints the median in-process ``check`` and ``build`` time (fresh
output dir each round) and the ratio of each to the 10k figure next to the size ratio: linear
growth means the two ratios are about equal; then the three slowest stages of one check of the
largest size. The inputs come from tests/hostile/generators.py. A surface of 500k features is
32 MB, above the 16 MiB limit of a policy source: it is refused before it is read (POLC004), so
the surface series stops at the largest size under the limit (250k) and times that refusal.

Baseline, side by side in the same run: the front end this replaced parsed TOML with tomlkit
(``tomlkit.parse(text).unwrap()``), which grows faster than the text; its time is printed next
to the standard library's ``tomllib`` plus polc's position index for the same text (10k and
100k only: tomlkit on 500k entries takes minutes).
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
    parser.add_argument("--sizes", default="10000,100000,500000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="polc-bench-hostile-"))
    try:
        for kind, label in (("budgets", "[budgets.tokens] entries"), ("surface", "surface features")):
            print(f"\n{label}: median of {args.rounds} rounds, in-process")
            print(f"{'size':>9} {'MB':>6} {'check':>9} {'build':>9} {'check ratio':>12} {'build ratio':>12} "
                  f"{'size ratio':>11}")
            base, root = None, None
            kind_sizes = sizes if kind == "budgets" else sorted({min(s, MAX_SURFACE_FEATURES) for s in sizes})
            for size in kind_sizes:
                root = project(work / f"{kind}-{size}", kind, size)
                megabytes = sum(p.stat().st_size for p in root.iterdir()) / 1e6
                check_s, build_s = timed(root, args.rounds)
                base = base or (check_s, build_s, size)
                print(f"{size:>9,} {megabytes:>6.1f} {check_s:>8.2f}s {build_s:>8.2f}s {check_s / base[0]:>11.1f}x "
                      f"{build_s / base[1]:>11.1f}x {size / base[2]:>10.0f}x", flush=True)
            print(f"  slowest stages of one check at {kind_sizes[-1]:,}: {slowest_stages(root)}")
            if kind == "surface" and max(sizes) > MAX_SURFACE_FEATURES:
                print(f"  {max(sizes):,} features ({max(sizes) * 64 / 1e6:.0f} MB) are refused by the 16 MiB source "
                      f"limit in {refusal_time(work, max(sizes)) * 1000:.0f} ms (POLC004)")
        toml_baseline(sizes, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
