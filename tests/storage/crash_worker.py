"""A worker the kill -9 tests start and kill: it repeats one storage operation forever.

    python -m tests.storage.crash_worker delta|archive|migrate|gc OUT_DIR [SOURCE_DIR]

It prints "ready" after imports, so the test's random delay lands inside the operations.
"""

from __future__ import annotations

import itertools
import os
import json
import sys
from pathlib import Path

import numpy as np

from compiler.storage.archive import archive_bundle
from compiler.storage.deltas import DeltaRequest, apply_delta
from compiler.storage.gc import Retention, collect
from compiler.storage.migrate import migrate


def main(mode: str, out: Path, source: Path | None = None) -> None:
    rng = np.random.default_rng()
    print("ready", flush=True)
    for i in itertools.count():
        if mode == "delta":
            apply_delta(out / "policy.json", rng.normal(0, 0.2, 16), DeltaRequest(0.05, i, "crash"))
        elif mode == "archive":
            active = json.loads((out / "policy.json").read_bytes())["active"]
            archive_bundle(out, active, out.parent / "archive", day=f"p{os.getpid()}-{i:06d}")
        elif mode == "migrate":
            migrate(source / f"src{i % 3}", out, operator="crash-test")
        elif mode == "gc":  # make a bundle, then collect everything but the head and the last ledger row
            apply_delta(out / "policy.json", rng.normal(0, 0.2, 16), DeltaRequest(0.05, i, "crash"))
            collect(out, Retention(), keep=1)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
