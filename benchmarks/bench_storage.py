"""Storage and surface speed, each against a baseline measured side by side in the same run.

1. ``surface.transform`` on 100,000 rows of the example surface (3 features: log1p, identity,
   minmax, all clipped) against the same computation written by hand as one numpy
   expression. Target: polc/numpy <= 1.5x.
2. ``delta apply`` (new bundle written and verified, log row, head, ledger row; every
   write fsynced) in deltas per second, against the floor of its I/O: writing the same
   bundle files with ``write_bundle`` and appending the same log line with fsync.
3. The delta log alone: ``jsonl.append_row`` (lock, torn-tail check, hash chain, fsync)
   against a plain ``write + fsync`` of the same line; and ``replay`` throughput.

    .venv/bin/python benchmarks/bench_storage.py [--rows 100000] [--deltas 100] [--dim 256] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved  # noqa: E402
from compiler.runtime.surface import Surface  # noqa: E402
from compiler.sources import Source  # noqa: E402
from compiler.storage import jsonl  # noqa: E402
from compiler.storage.deltas import DeltaRequest, apply_delta  # noqa: E402
from compiler.storage.replay import replay  # noqa: E402
from compiler.storage.seed import seed_bundle  # noqa: E402
from compiler.surface.normalize import normalize  # noqa: E402
from compiler.surface.yaml_front import parse_yaml  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def example_surface() -> dict:
    text = (REPO / "examples" / "policy.surface.yaml").read_text(encoding="utf-8")
    return normalize(parse_yaml(Source("policy.surface.yaml", None, text, "", len(text))).data)


def bench_transform(rows: int, rounds: int) -> None:
    rng = np.random.default_rng(1)
    features = {"atoms": rng.uniform(-10, 100, rows), "depth": rng.uniform(0, 10, rows),
                "lean_score": rng.uniform(-0.5, 1.5, rows)}
    surface = Surface(example_surface())

    def by_hand():
        return np.column_stack([np.log1p(np.clip(features["atoms"], 1.0, 64.0)),
                                np.clip(features["depth"], 1.0, 8.0),
                                (np.clip(features["lean_score"], 0.0, 1.0) - 0.0) * (1.0 / (1.0 - 0.0))])

    assert np.array_equal(surface.transform(features), by_hand())
    times = interleaved({"polc": lambda: surface.transform(features), "numpy": by_hand}, rounds=rounds)
    print(f"surface.transform, {rows:,} rows x 3 features (median of {rounds} interleaved rounds)")
    print(f"  polc  {times['polc'] * 1e3:8.3f} ms   ({rows / times['polc'] / 1e6:6.1f} M rows/s)")
    print(f"  numpy {times['numpy'] * 1e3:8.3f} ms   (hand-written expression)")
    print(f"  ratio polc/numpy = {times['polc'] / times['numpy']:.2f}x   (target <= 1.5x)")


def bench_deltas(base_dir: Path, count: int, dim: int) -> None:
    from compiler.fsutil import publish_directory

    work = Path(tempfile.mkdtemp(prefix="polc-bench-", dir=base_dir))
    try:
        out = work / "out"
        out.mkdir()
        base = seed_bundle(out, np.linspace(-1, 1, dim), example_surface())
        rng = np.random.default_rng(3)
        deltas = [rng.normal(0, 0.2, dim) for _ in range(count)]
        started = time.perf_counter()
        for cycle, delta in enumerate(deltas):
            apply_delta(out / "policy.json", delta, DeltaRequest(0.05, cycle, "bench"))
        applied = time.perf_counter() - started
        floor = _io_floor(work, out, count, publish_directory)
        started = time.perf_counter()
        result, _ = replay(base.path, out / "delta_log.jsonl")
        replayed = time.perf_counter() - started
        assert result.applied == count
        print(f"\ndelta apply, {count} deltas of {dim} float64 weights, in {base_dir} (every write fsynced)")
        print(f"  polc delta apply  {count / applied:8.1f} deltas/s   ({applied / count * 1e3:6.2f} ms each)")
        print(f"  I/O floor         {count / floor:8.1f} deltas/s   ({floor / count * 1e3:6.2f} ms each: "
              "the same bytes staged and renamed + log append + fsync, no checks)")
        print(f"  ratio polc/floor = {applied / floor:.2f}x")
        print(f"  replay            {count / replayed:8.1f} deltas/s   ({result.applied} deltas, every hash checked)")
        _bench_log(work, rounds=200)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _io_floor(work: Path, out: Path, count: int, publish_directory) -> float:
    """The same bundle bytes and log lines, written with no verification or bookkeeping."""
    bundles = sorted(p for p in out.iterdir() if p.is_dir() and len(p.name) == 64)[:count]
    payloads = [{p.name: p.read_bytes() for p in b.iterdir()} for b in bundles]
    lines = (out / "delta_log.jsonl").read_bytes().splitlines(keepends=True)
    floor_out = work / "floor"
    floor_out.mkdir()
    started = time.perf_counter()
    with open(floor_out / "log.jsonl", "ab") as log:
        for i, files in enumerate(payloads):
            publish_directory(floor_out / f"{i:064x}", files)
            log.write(lines[i % len(lines)])
            log.flush()
            os.fsync(log.fileno())
    elapsed = time.perf_counter() - started
    return elapsed * count / max(1, len(payloads))


def _bench_log(work: Path, rounds: int) -> None:
    row = json.loads((work / "out" / "delta_log.jsonl").read_bytes().splitlines()[0])
    row.pop("prev_sha256")
    line = jsonl.encode_row(row) + b"\n"
    polc_path, plain_path = work / "polc.jsonl", work / "plain.jsonl"

    def polc():
        jsonl.append_row(polc_path, row)

    def plain():
        with open(plain_path, "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    times = interleaved({"polc": polc, "plain": plain}, rounds=rounds)
    print(f"\ndelta_log.jsonl append, one {len(line):,}-byte row (median of {rounds} interleaved rounds)")
    print(f"  polc append_row  {1 / times['polc']:8.1f} rows/s   (lock, torn-tail check, hash chain, fsync)")
    print(f"  plain write      {1 / times['plain']:8.1f} rows/s   (write + fsync)")
    print(f"  ratio polc/plain = {times['polc'] / times['plain']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--deltas", type=int, default=100)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where to write the delta bundles (a real disk: fsync costs are part of the figure)")
    args = parser.parse_args()
    bench_transform(args.rows, args.rounds)
    bench_deltas(args.dir, args.deltas, args.dim)


if __name__ == "__main__":
    main()
