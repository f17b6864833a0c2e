"""Dual storage end to end on the example project: one workspace name for runs and the capsule
(a run's policy_uri loads), run references in the capsule's event log (977-A3) so `polc trace`
answers from the capsule alone, and every operation that moves the head keeps parity."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest

from compiler.runtime import load_snapshot
from compiler.capsule import open_capsule

from ..conftest import example_project as make_example, run_polc
from .helpers import save
from .test_migrate_backfill import legacy


def example_project(root, *, storage: str = "", weights: bool = False):
    return make_example(root, extra=storage, weights=np.linspace(-1, 1, 8) if weights else None)


CAPSULE = '\n[storage]\ncapsule = "artifacts/capsule.sqlite"\n'


def test_a_runs_policy_uri_names_the_capsule_object_polc_build_stored(tmp_path, monkeypatch):
    root = example_project(tmp_path / "example")
    built = run_polc("build", "--capsule", cwd=root)
    assert built.returncode == 0, built.stderr
    monkeypatch.chdir(root)
    snap = load_snapshot(root / "artifacts" / "policy" / "policy.json")
    with snap.start_run("r1", root / ".polc") as run:
        run.stage_transition("plan")
    ref = run.policies[0]
    assert ref["policy_uri"] == f"mv2://polc-example/policy/{snap.policy_id}"  # [project].name, as the capsule
    assert load_snapshot(ref["policy_uri"]).hash == snap.hash  # the run's URI loads from the capsule


def test_run_references_go_to_the_capsule_and_trace_answers_from_it_alone(tmp_path, monkeypatch):
    root = example_project(tmp_path / "example", storage=CAPSULE)
    assert run_polc("build", cwd=root).returncode == 0
    monkeypatch.chdir(root)
    snap = load_snapshot(root / "artifacts" / "policy" / "policy.json")
    with snap.start_run("r2", root / ".polc") as run:  # no capsule passed: [storage].capsule is configured
        run.stage_transition("plan")
        run.checkpoint("after-plan")
        run.stage_transition("implement")
    from compiler.capsule import run_stream

    capsule = open_capsule(root / "artifacts" / "capsule.sqlite", create=False)
    events = capsule.events(run_stream("polc-example", "r2"))
    capsule.close()
    assert [e["type"] for e in events] == ["RunStart", "PolicySnapshotRef", "StageTransition", "Checkpoint",
                                           "StageTransition", "RunEnd"]
    ref = events[1]
    assert ref["policy_id"] == snap.policy_id and ref["policy_hash"] == snap.hash
    shutil.rmtree(root / ".polc")  # the workspace is gone: only the capsule remains
    assert run_polc("trace", "r2", cwd=root).returncode == 2  # not in the (removed) workspace
    traced = run_polc("trace", "r2", "--from-capsule", "--format", "json", cwd=root)
    assert traced.returncode == 0, traced.stderr
    payload = json.loads(traced.stdout)
    assert payload["verified"] and payload["status"] == "completed" and payload["policy_bundle_id"] == snap.hash
    assert [p["policy_hash"] for p in payload["policies"]] == [snap.hash]
    assert [t["to_stage"] for t in payload["transitions"]] == ["plan", "implement"]
    text = run_polc("trace", "r2", "--from-capsule", cwd=root)
    assert text.returncode == 0 and "mv2://polc-example/runs/r2" in text.stdout
    unknown = run_polc("trace", "nope", "--from-capsule", cwd=root)
    assert unknown.returncode == 2 and "POLC744" in unknown.stderr


def test_the_capsule_event_log_is_append_only_and_chained(tmp_path):
    from compiler.capsule import run_stream

    store = open_capsule(tmp_path / "c.sqlite")
    stream = run_stream("ws", "r")
    assert [store.append_event(stream, {"type": "RunStart", "n": i}) for i in range(3)] == [1, 2, 3]
    assert [e["n"] for e in store.events(stream)] == [0, 1, 2]
    with pytest.raises(sqlite3.DatabaseError):
        store.db.execute("UPDATE events SET data = x'7b7d'")
    with pytest.raises(sqlite3.DatabaseError):
        store.db.execute("DELETE FROM events")
    store.db.execute("DROP TRIGGER events_no_delete")  # someone with raw access removes a row
    store.db.execute("DELETE FROM events WHERE seq = 2")
    from compiler.errors import IntegrityError

    with pytest.raises(IntegrityError) as info:
        store.events(stream)
    assert info.value.diagnostics[0].code == "POLC364"
    store.close()


def test_every_operation_that_moves_the_head_keeps_parity(tmp_path):
    root = example_project(tmp_path / "example", storage=CAPSULE, weights=True)
    out = root / "artifacts" / "policy"

    def parity_holds(step: str) -> None:
        checked = run_polc("verify", "--parity", "--format", "json", cwd=root)
        assert checked.returncode == 0, (step, checked.stdout, checked.stderr)

    assert run_polc("build", cwd=root).returncode == 0  # no --capsule: [storage].capsule is configured
    parity_holds("build")
    save(tmp_path / "delta.npy", np.full(8, 0.1))
    delta = run_polc("delta", "apply", str(out / "policy.json"), str(tmp_path / "delta.npy"), "--lr", "0.05",
                     "--cycle", "1", "--slice", "goal", "--attestation-root", "Ht_1", cwd=root)
    assert delta.returncode == 0, delta.stderr
    parity_holds("delta apply")
    archived = run_polc("archive", json.loads((out / "policy.json").read_text())["active"], cwd=root)
    assert archived.returncode == 0, archived.stderr
    archive = archived.stdout.split()[-1]
    shutil.rmtree(out / json.loads((out / "policy.json").read_text())["active"])  # lose the bundle on disk
    restored = run_polc("restore", archive, "--reason", "disk loss", cwd=root)
    assert restored.returncode == 0, restored.stderr
    parity_holds("restore")
    migrated = run_polc("migrate", "--source", str(legacy(tmp_path, np.arange(8, dtype=np.float64))), cwd=root)
    assert migrated.returncode == 0, migrated.stderr
    parity_holds("migrate")
    assert run_polc("backfill", "--policy-root", str(out), "--apply", cwd=root).returncode == 0
    parity_holds("backfill")
