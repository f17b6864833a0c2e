"""Snapshot schema versions: an older snapshot is migrated, a newer major one is refused."""

from __future__ import annotations

import pytest

from compiler.canonical import canonical_json
from compiler.runtime import SnapshotVersionError, load_snapshot
from compiler.bundle import policy_id_for, snapshot_hash
from compiler.runtime.migrations import MIGRATIONS, migrate

SNAPSHOT_0_9 = {
    "schema_version": "0.9",
    "source_files": ["model_policy.toml"],
    "routing": {"cloud": {"judge": ["claude-sonnet-4-20250514"]},
                "reflex": {"enabled": True, "model": "qwen", "endpoint": "http://127.0.0.1:3009/v1"}},
    "capture": "full_io",
    "store_embeddings": True,
    "budgets": {"tokens": {"plan": 100}, "cost_warn": 1, "cost_limit": 2},
    "gates": {"reflex_promotion": {"p95_latency_ms": 2000}},
}


def write_snapshot(path, content: dict):
    digest = snapshot_hash(content)
    full = {**content, "hash": digest, "policy_id": policy_id_for(digest), "created_at": "2025-01-01T00:00:00Z"}
    path.write_bytes(canonical_json(full))
    return digest


def test_a_0_9_snapshot_is_read_through_its_migration(tmp_path):
    digest = write_snapshot(tmp_path / "old.json", SNAPSHOT_0_9)
    snap = load_snapshot(tmp_path / "old.json", env={})
    assert snap.migrated_from == ("0.9",) and snap.schema_version == "1.0"
    assert snap.hash == digest  # identity is that of the stored bytes
    assert snap.capture.mode == "full_io" and snap.capture.allows("completions")
    assert snap["budgets"]["cost"]["hard_limit"] == 2
    assert snap.stored["schema_version"] == "0.9"
    passed = snap.with_gate_results({"reflex_promotion": True})
    assert [c.model for c in passed.route("judge")] == ["qwen", "claude-sonnet-4-20250514"]
    tracker = snap.budget_tracker()
    tracker.charge("plan", tokens=100, cost=1)
    assert [e["type"] for e in tracker.events] == ["BudgetWarning"]


def test_a_migrated_run_captures_the_stored_bytes(tmp_path):
    write_snapshot(tmp_path / "old.json", SNAPSHOT_0_9)
    snap = load_snapshot(tmp_path / "old.json", env={})
    snap.start_run("r", tmp_path / "ws").finish()
    captured = tmp_path / "ws" / "policies" / f"snapshot-{snap.policy_id}.json"
    assert captured.read_bytes() == (tmp_path / "old.json").read_bytes()


@pytest.mark.parametrize("version, message", [("2.0", "newer than this runtime reads"),
                                              ("0.5", "has no migration"),
                                              ("one", "not of the form MAJOR.MINOR")])
def test_unreadable_versions_are_refused(tmp_path, version, message):
    write_snapshot(tmp_path / "s.json", {**SNAPSHOT_0_9, "schema_version": version})
    with pytest.raises(SnapshotVersionError, match=message) as info:
        load_snapshot(tmp_path / "s.json", env={})
    assert info.value.diagnostics[0].code == "POLC709"


def test_a_newer_minor_version_is_read_as_is(out_dir, tmp_path):
    import json

    bundle = json.loads((out_dir / "policy.json").read_text())["active"]
    data = json.loads((out_dir / bundle / "snapshot.json").read_bytes())
    content = {k: v for k, v in data.items() if k not in ("hash", "policy_id", "created_at")}
    write_snapshot(tmp_path / "s.json", {**content, "schema_version": "1.7", "future_block": {"x": 1}})
    snap = load_snapshot(tmp_path / "s.json", env={})
    assert snap.schema_version == "1.7" and snap.migrated_from == () and snap["future_block"]["x"] == 1


def test_migration_chain_does_not_mutate_its_input():
    original = canonical_json(SNAPSHOT_0_9)
    migrate(dict(SNAPSHOT_0_9))
    assert canonical_json(SNAPSHOT_0_9) == original
    assert all(target.count(".") == 1 for target, _ in MIGRATIONS.values())
