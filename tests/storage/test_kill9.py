"""kill -9 at random points of delta apply, archive and migrate: afterwards every bundle,
log, ledger and archive still verifies, and the head names a bundle that verifies.

A worker process repeats the operation in a loop; the test kills it with SIGKILL after a
random delay, checks every invariant, and starts the next round on the same directory.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from compiler.storage.archive import verify_archive
from compiler.bundle import is_full_hash as looks_like_hash, open_bundle
from compiler.storage.deltas import recover_interrupted
from compiler.storage.jsonl import read_rows, verify_chain
from compiler.storage.ledger import verify_ledger
from compiler.storage.replay import replay
from compiler.storage.verify import verify_bundles

from ..conftest import REPO
from .helpers import seeded
from .test_migrate_backfill import legacy

ROUNDS = 3


def run_and_kill(mode: str, out: Path, rng: random.Random, source: Path | None = None) -> None:
    args = [sys.executable, "-m", "tests.storage.crash_worker", mode, str(out)] + ([str(source)] if source else [])
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(rng.uniform(0.05, 0.8))  # somewhere inside one of the repeated operations
        assert proc.poll() is None, proc.stderr.read()  # it was still working, not crashed by itself
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


def assert_out_dir_verifies(out: Path) -> None:
    checked, problems = verify_bundles(out)
    assert problems == [], problems
    assert verify_ledger(out)[1] == []
    head = json.loads((out / "policy.json").read_bytes())
    assert open_bundle(out / head["active"]).manifest["sha256"] == head["manifest_sha256"]
    rows = read_rows(out / "delta_log.jsonl", "POLC345")
    assert verify_chain(rows) is None
    for row, _ in rows:
        if row["policy_update_applied"]:
            open_bundle(out / row["policy_hash_after"])


@pytest.mark.slow
def test_kill9_during_delta_apply(tmp_path):
    rng = random.Random()
    out = tmp_path / "out"
    base = seeded(out)
    for _ in range(ROUNDS):
        run_and_kill("delta", out, rng)
        assert_out_dir_verifies(out)
    # The next apply finishes an interrupted one (the log row is the commit point), so the
    # log is one unbroken lineage that replays to the head.
    recover_interrupted(out)
    result, _ = replay(base.path, out / "delta_log.jsonl")
    rows = [r for r, _ in read_rows(out / "delta_log.jsonl", "POLC345")]
    assert result.applied == len(rows) >= 1 and result.skipped == 0
    assert result.final == rows[-1]["policy_hash_after"] == json.loads((out / "policy.json").read_bytes())["active"]
    assert_out_dir_verifies(out)


@pytest.mark.slow
def test_kill9_during_archive(tmp_path):
    rng = random.Random()
    out = tmp_path / "out"
    seeded(out)
    for _ in range(ROUNDS):
        run_and_kill("archive", out, rng)
        archives = [p for p in (tmp_path / "archive").iterdir() if not p.name.startswith(".")]
        assert archives
        for archive in archives:
            verify_archive(archive)  # a complete archive or none: never half of one
        assert_out_dir_verifies(out)


@pytest.mark.slow
def test_kill9_during_migrate(tmp_path):
    rng = random.Random()
    sources = tmp_path / "sources"
    sources.mkdir()
    for i in range(3):
        legacy(sources, np.arange(4 + i, dtype=np.float64), name=f"src{i}")
    before = {p: p.read_bytes() for p in sources.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    seeded(out)  # the current policy the legacy weights are migrated into
    for _ in range(ROUNDS):
        run_and_kill("migrate", out, rng, sources)
        if (out / "policy.json").exists():
            assert_out_dir_verifies(out)
        else:
            assert verify_bundles(out)[1] == []
        rows = (out / "MIGRATIONS.md").read_text().splitlines() if (out / "MIGRATIONS.md").exists() else []
        assert all(r.count("|") == 7 for r in rows if r.startswith("| policy_manifest@v1"))
    assert {p: p.read_bytes() for p in sources.rglob("*") if p.is_file()} == before
    assert any(looks_like_hash(p.name) for p in out.iterdir())


@pytest.mark.slow
def test_kill9_during_gc(tmp_path):
    from compiler.bundle import bundle_dirs
    from compiler.storage.gc import TRASH_PREFIX, collect, pruned, Retention

    rng = random.Random()
    out = tmp_path / "out"
    seeded(out)
    for _ in range(ROUNDS):
        run_and_kill("gc", out, rng)
        checked, problems = verify_bundles(out)  # what is visible is whole: trash is never listed
        assert problems == [] and checked >= 1
        assert verify_ledger(out)[1] == []  # every row's bundle is there, or a gc row removed it
        head = json.loads((out / "policy.json").read_bytes())
        assert open_bundle(out / head["active"]).manifest["sha256"] == head["manifest_sha256"]
        rows = read_rows(out / "delta_log.jsonl", "POLC345")
        assert verify_chain(rows) is None
        gone = pruned(out)
        for row, _ in rows:
            if row["policy_update_applied"] and not (out / row["policy_hash_after"]).exists():
                assert row["policy_hash_after"] in gone
    collect(out, Retention(), keep=1)  # the next gc clears what a killed one left
    assert not [p for p in out.iterdir() if p.name.startswith(TRASH_PREFIX)]
    assert len(bundle_dirs(out)) <= 2
