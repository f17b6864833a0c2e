"""Concurrency and crashes, on both backends: 8 processes promote and roll back in the same scopes
(1,000 state changes) while an observer checks there is always exactly one promoted bundle per
scope; a process killed with SIGKILL inside a transaction leaves the registry consistent."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from queue import Empty
from pathlib import Path

import pytest

from .helpers import open_test_registry, publish, walk_to
from .workers import SCOPES, churn

WORKERS = 8
TRANSITIONS = 1000
REPO = Path(__file__).resolve().parents[2]


def seeded_registry(url: str, out_dir: Path, count: int) -> list[str]:
    with open_test_registry(url, out_dir) as reg:
        bundles = [publish(reg, out_dir, n) for n in range(count)]
        for scope in SCOPES:
            walk_to(reg, bundles[0], "promoted", scope)
    return bundles


def assert_consistent(url: str, out_dir: Path) -> dict:
    with open_test_registry(url, out_dir) as reg:
        counts = reg.promoted_counts()
        assert {k: counts.get(s.key, 0) for s in SCOPES for k in [s.key]} == {s.key: 1 for s in SCOPES}, counts
        verified = reg.verify()
        assert verified["ok"], verified["problems"]
        return verified


@pytest.mark.slow
def test_eight_processes_keep_one_promoted_bundle_per_scope(registry_url, out_dir):
    bundles = seeded_registry(registry_url, out_dir, WORKERS)
    before = assert_consistent(registry_url, out_dir)["events_checked"]
    ctx = multiprocessing.get_context("spawn")
    jobs = [(registry_url, str(out_dir), b, TRANSITIONS // WORKERS, seed) for seed, b in enumerate(bundles)]
    observations, queue, results = 0, ctx.Queue(), []
    processes = [ctx.Process(target=churn, args=(job, queue)) for job in jobs]
    for p in processes:
        p.start()
    try:
        with open_test_registry(registry_url, out_dir) as observer:
            deadline = time.monotonic() + 300
            while len(results) < WORKERS:  # a worker with a result queued exits only once it is read
                assert time.monotonic() < deadline, f"workers did not finish: {results}"
                counts = observer.promoted_counts()
                assert [counts.get(s.key, 0) for s in SCOPES] == [1, 1], counts
                observations += 1
                try:
                    results.append(queue.get(timeout=0.01))
                except Empty:
                    assert all(p.is_alive() or p.exitcode == 0 for p in processes), "a worker died"
    finally:
        for p in processes:
            p.join(timeout=30)
            p.kill()
    assert [r.get("error") for r in results] == [None] * WORKERS
    assert sum(r["successes"] for r in results) == TRANSITIONS
    after = assert_consistent(registry_url, out_dir)
    assert after["events_checked"] - before == sum(r["events"] for r in results)
    assert observations > 10
    with open_test_registry(registry_url, out_dir) as reg:  # the scopes really churned
        kinds = {e["event_type"] for e in reg.history()["events"]}
    assert {"bundle_promoted", "bundle_superseded", "bundle_rolled_back", "bundle_restored"} <= kinds


@pytest.mark.parametrize("mode", ["hang", "run"])
def test_kill_9_mid_transition_leaves_the_registry_consistent(registry_url, out_dir, tmp_path, mode):
    bundles = seeded_registry(registry_url, out_dir, 3)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-m", "tests.registry.workers", registry_url, str(out_dir),
                              ",".join(bundles), str(marker), mode], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the worker died on its own"
            assert time.monotonic() < deadline, "the worker never got going"
            time.sleep(0.01)
        time.sleep(0.05 if mode == "hang" else 0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    verified = assert_consistent(registry_url, out_dir)
    with open_test_registry(registry_url, out_dir) as reg:  # the write lock died with the process
        publish(reg, out_dir, 99)
        assert reg.verify()["events_checked"] == verified["events_checked"] + 1
    assert verified["events_checked"] >= 3 + 2 * 3 + 5  # publishes, seeding, the changes before the kill
