"""Registry speed on each backend: resolve latency and transitions per second.

For every backend (SQLite in a temporary directory; PostgreSQL when POLC_BENCH_POSTGRES_URL or
POLC_TEST_POSTGRES_URL names a server) it times, interleaved round by round:

* ``resolve``: ``Registry.resolve(scope)`` (read transaction, promoted row, bundle record, the
  event that promoted it, response validated against the contracts), against a baseline of one
  bare primary-key SELECT on the same connection;
* ``transition``: one promote of a shadow bundle (which also supersedes the current one: two
  chained events, the state rows, all in one serialized write transaction), against a baseline
  of one bare single-row INSERT transaction on the same database.

Prints medians, rates and the ratios registry/baseline.

    .venv/bin/python benchmarks/bench_registry.py [--rounds 7] [--number 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from itertools import cycle
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved  # noqa: E402
from compiler.registry import RegistryConfig, Scope, open_registry  # noqa: E402
from tests.registry.helpers import receipt, write_bundle  # noqa: E402

SCOPE = Scope("prod", "router")


def seeded(url: str, out_dir: Path, bundles: int):
    reg = open_registry(url, config=RegistryConfig(out_dir=out_dir, default_policy="router"))
    ids = []
    for n in range(bundles):
        bundle_id = write_bundle(out_dir, {"n": n, "pad": "x" * 2000}, version=f"1.0.{n}")
        reg.publish(bundle_id, receipt(bundle_id), submitted_by="bench", provenance={"evaluation_report_ref": "bench"})
        for state in ("staged", "shadow"):
            reg.transition(bundle_id, SCOPE, state, actor="bench", role="approver")
        ids.append(bundle_id)
    reg.promote(ids[0], SCOPE, actor="bench", role="operator")
    return reg, ids


def bench_backend(name: str, url: str, out_dir: Path, rounds: int, number: int) -> None:
    reg, ids = seeded(url, out_dir, 6)
    store = reg.store
    with store.write() as s:
        s._execute("CREATE TABLE IF NOT EXISTS bench_baseline (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    next_bundle = cycle(ids)

    def promote_next():
        reg.promote(next(next_bundle), SCOPE, actor="bench", role="operator")

    def baseline_read():
        with store.read() as s:
            s.one("SELECT record FROM polc_bundles WHERE bundle_id = ?", (ids[0],))

    def baseline_write():
        with store.write() as s:
            s._q("INSERT INTO bench_baseline (id, body) VALUES (?, ?)", (str(uuid.uuid4()), "x" * 400))

    reads = interleaved({"resolve": lambda: reg.resolve(SCOPE), "baseline": baseline_read},
                        rounds=rounds, number=number)
    writes = interleaved({"promote": promote_next, "baseline": baseline_write}, rounds=rounds, number=max(1, number // 5))
    assert reg.verify()["ok"]
    print(f"[{name}]")
    print(f"  resolve      median {reads['resolve'] * 1e6:9.0f} us   baseline SELECT {reads['baseline'] * 1e6:7.0f} us"
          f"   ratio {reads['resolve'] / reads['baseline']:6.1f}x")
    print(f"  transitions  median {writes['promote'] * 1e3:9.2f} ms   ({1 / writes['promote']:7.0f} promotions/s, "
          f"{2 / writes['promote']:7.0f} events/s)   baseline INSERT txn {writes['baseline'] * 1e3:6.2f} ms"
          f"   ratio {writes['promote'] / writes['baseline']:6.1f}x")
    reg.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "artifacts"
        out.mkdir()
        bench_backend("sqlite", str(Path(tmp) / "registry.db"), out, args.rounds, args.number)
        pg = os.environ.get("POLC_BENCH_POSTGRES_URL") or os.environ.get("POLC_TEST_POSTGRES_URL")
        if pg:
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            url = pg + ("&" if "?" in pg else "?") + f"schema={schema}"
            try:
                bench_backend("postgresql", url, out, args.rounds, args.number)
            finally:
                import psycopg

                with psycopg.connect(pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        else:
            print("[postgresql] skipped: set POLC_BENCH_POSTGRES_URL (or POLC_TEST_POSTGRES_URL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
