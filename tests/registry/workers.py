"""Processes for the concurrency and kill -9 tests (importable, so ``spawn`` can start them)."""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from pathlib import Path

from compiler.registry import RegistryError, Scope

from .helpers import open_test_registry

SCOPES = (Scope("prod", "router"), Scope("staging", "router"))


def step(reg, bundle_id: str, scope: Scope, rng: random.Random) -> dict:
    """The next lifecycle move of ``bundle_id`` in ``scope``, whatever state others left it in."""
    state = reg.state(bundle_id, scope)
    if state in ("candidate", "rolled_back"):
        return reg.transition(bundle_id, scope, "staged", actor="w", role="approver")
    if state == "staged":
        return reg.transition(bundle_id, scope, "shadow", actor="w", role="approver")
    if state == "shadow":
        if rng.random() < 0.5:
            active = reg.resolve(scope)["active_bundle_ref"]["bundle_id"]
            return reg.promote(bundle_id, scope, actor="w", role="operator", expect_active=active)
        return reg.promote(bundle_id, scope, actor="w", role="operator")
    return reg.rollback(scope, actor="w", role="operator", reason="churn")


def churn(args: tuple, results) -> None:
    """Make ``target`` successful state changes; put them and the refusals by code on ``results``."""
    try:
        results.put(_churn(args))
    except BaseException as exc:  # the test reports it instead of waiting for a result that never comes
        results.put({"error": repr(exc)})
        raise


def _churn(args: tuple) -> dict:
    url, out_dir, bundle_id, target, seed = args
    rng = random.Random(seed)
    events, successes, refused = 0, 0, Counter()
    with open_test_registry(url, Path(out_dir)) as reg:
        for _ in range(target * 20):
            if successes >= target:
                break
            try:
                response = step(reg, bundle_id, rng.choice(SCOPES), rng)
            except RegistryError as exc:
                refused[exc.code] += 1
                continue
            if response["events"]:
                successes += 1
                events += len(response["events"])
    return {"successes": successes, "events": events, "refused": dict(refused)}


def hang_in_commit(url: str, out_dir: str, bundle_ids: list[str], marker: str, mode: str) -> None:
    """Churn until killed. mode ``hang``: after a few changes, stop inside a write transaction,
    just before COMMIT, and announce it in ``marker``; mode ``run``: announce and keep going."""
    rng = random.Random(1)
    with open_test_registry(url, Path(out_dir)) as reg:
        original, begin_write = reg.store._execute, reg.store._begin_write
        done, writing = [0], [False]

        def execute(sql, *params):
            if sql == "COMMIT" and writing[0] and mode == "hang" and done[0] >= 5:
                Path(marker).write_text("in a write transaction, its changes made, before COMMIT")
                time.sleep(3600)
            if sql in ("COMMIT", "ROLLBACK"):
                writing[0] = False
            return original(sql, *params)

        def begin():
            begin_write()
            writing[0] = True

        reg.store._execute, reg.store._begin_write = execute, begin
        while True:
            try:
                if step(reg, rng.choice(bundle_ids), rng.choice(SCOPES), rng)["events"]:
                    done[0] += 1
            except RegistryError:
                continue
            if mode == "run" and done[0] == 5:
                Path(marker).write_text("running")


if __name__ == "__main__":
    hang_in_commit(sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4], sys.argv[5])
