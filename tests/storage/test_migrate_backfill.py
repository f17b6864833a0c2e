"""Migrations v1 → v2 (into the current policy, the legacy hash checked, up/down, MIGRATIONS.md,
pickle only when allowed) and backfill."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pytest

from compiler.errors import IntegrityError, PolcError
from compiler.storage import backfill
from compiler.bundle import open_bundle
from compiler.storage.deltas import bundle_weights
from compiler.storage.migrate import migrate
from compiler.storage.migrations import v1_to_v2

from ..conftest import run_polc
from .helpers import head, log_rows, save, seeded


def legacy(tmp_path, array=np.arange(6, dtype=np.float64), *, pickled=False, name="legacy"):
    src = tmp_path / name
    src.mkdir()
    if pickled:
        (src / "policy.pkl").write_bytes(pickle.dumps(array))
        weights, serialization = "policy.pkl", "pickle@3.11"
    else:
        save(src / "policy.weights.npy", array)
        weights, serialization = "policy.weights.npy", "npy"
    digest = hashlib.sha256((src / weights).read_bytes()).hexdigest()
    (src / "policy.json").write_text(json.dumps({
        "schema_version": "policy_manifest@v1", "policy_hash": digest, "version": "2025.09.14",
        "model_type": "reranker", "serialization": serialization, "weights_file": weights,
        "created_at": "2025-09-14T10:00:00Z"}))
    return src


def snapshot_of(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_migrate_promotes_a_verified_bundle_and_records_it(tmp_path):
    src = legacy(tmp_path)
    before = snapshot_of(src)
    out = tmp_path / "out"
    current = seeded(out)
    result = migrate(src, out, operator="alice")
    bundle = open_bundle(out / result.hash_after)
    assert np.array_equal(bundle_weights(bundle), np.arange(6, dtype=np.float64))
    assert bundle.snapshot["legacy"]["policy_hash"] == result.hash_before
    assert bundle.snapshot["legacy"]["version"] == "2025.09.14"
    assert bundle.snapshot["surface"] == current.snapshot["surface"]  # the current policy, new weights
    assert bundle.manifest["schema_version"] == "policy_manifest@v2"
    assert result.base == current.hash and result.head_moved
    assert head(out) == result.hash_after
    table = (out / "MIGRATIONS.md").read_text().splitlines()
    assert table[-1].startswith(f"| policy_manifest@v1 | policy_manifest@v2 | {result.hash_before} | "
                                f"{result.hash_after} | alice | ")
    assert log_rows(out / "policy_hash_ledger.jsonl")[-1]["event"] == "migration"
    assert snapshot_of(src) == before  # the source is never changed
    assert not [p for p in out.iterdir() if p.name.startswith(".migration_work")]


def test_dry_run_writes_nothing(tmp_path):
    src = legacy(tmp_path)
    out = tmp_path / "out"
    current = seeded(out)
    before = snapshot_of(out)
    result = migrate(src, out, dry_run=True)
    assert result.dry_run and len(result.hash_after) == 64 and result.hash_after != current.hash
    assert snapshot_of(out) == before


def test_up_then_down_round_trips_the_weights(tmp_path):
    src = legacy(tmp_path, np.linspace(-3, 3, 7))
    manifest = json.loads((src / "policy.json").read_text())
    draft, bin_path = v1_to_v2.up(manifest, src / "policy.weights.npy")
    v1, npy = v1_to_v2.down(draft, bin_path)
    assert v1["schema_version"] == "policy_manifest@v1"
    with open(npy, "rb") as fh:
        assert np.array_equal(np.load(fh, allow_pickle=False), np.linspace(-3, 3, 7))


def test_pickled_weights_need_allow_pickle_and_only_arrays_are_unpickled(tmp_path):
    src = legacy(tmp_path, np.ones(3), pickled=True)
    seeded(tmp_path / "out")
    seeded(tmp_path / "out2")
    with pytest.raises(PolcError) as info:
        migrate(src, tmp_path / "out")
    assert info.value.diagnostics[0].code == "POLC391"
    warned = []
    result = migrate(src, tmp_path / "out", allow_pickle=True, warn=warned.extend)
    assert [w.code for w in warned] == ["POLC393"]
    assert np.array_equal(bundle_weights(open_bundle(tmp_path / "out" / result.hash_after)), np.ones(3))

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "policy.pkl").write_bytes(pickle.dumps(Evil()))
    (evil / "policy.json").write_text(json.dumps({"serialization": "pickle@3.11", "weights_file": "policy.pkl"}))
    with pytest.raises(PolcError) as info:
        migrate(evil, tmp_path / "out2", allow_pickle=True)
    assert info.value.diagnostics[0].code == "POLC390" and "builtins.print" in info.value.diagnostics[0].message


@pytest.mark.parametrize("content", [
    {"schema_version": "policy_manifest@v2", "weights_file": "w.npy"},
    {"schema_version": "polc_head@v1", "active": "ab" * 32},
    {"policy_hash": "x"},
    {"weights_file": "../../etc/passwd"},
    "not json",
])
def test_a_source_that_is_not_v1_is_refused(tmp_path, content):
    src = tmp_path / "src"
    src.mkdir()
    (src / "policy.json").write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(PolcError) as info:
        migrate(src, tmp_path / "out")
    assert info.value.diagnostics[0].code == "POLC390"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_failed_verification_runs_down_and_leaves_everything_untouched(tmp_path, monkeypatch):
    import compiler.storage.migrate as bundle_mod

    src = legacy(tmp_path)
    before = snapshot_of(src)
    out = tmp_path / "out"
    current = seeded(out)
    real, downs = bundle_mod.write_bundle, []
    real_down = v1_to_v2.down

    def corrupting(out_dir, bundle):
        path = real(out_dir, bundle)
        (path / "policy.weights.bin").write_bytes(b"\0" * 48)
        return path

    monkeypatch.setattr(bundle_mod, "write_bundle", corrupting)
    monkeypatch.setattr(v1_to_v2, "down", lambda *a: downs.append(a) or real_down(*a))
    with pytest.raises(IntegrityError) as info:
        migrate(src, out)
    assert info.value.diagnostics[0].code == "POLC392" and len(downs) == 1
    assert snapshot_of(src) == before
    assert [p.name for p in out.iterdir() if len(p.name) == 64] == [current.hash] and head(out) == current.hash


def test_migrate_cli(tmp_path):
    src = legacy(tmp_path, pickled=True)
    seeded(tmp_path / "out")
    refused = run_polc("migrate", "--source", str(src), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert refused.returncode == 1 and "POLC391" in refused.stderr and "--allow-pickle" in refused.stderr
    done = run_polc("migrate", "--source", str(src), "--out", str(tmp_path / "out"), "--allow-pickle",
                    "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "POLC393" in done.stderr and json.loads(done.stdout)["hash_after"] == head(tmp_path / "out")


def test_backfill_re_points_a_legacy_or_stale_head(tmp_path):
    src = legacy(tmp_path)
    out = tmp_path / "out"
    seeded(out)
    result = migrate(src, out)
    (out / "policy.json").write_text((src / "policy.json").read_text())  # the old single-file head
    plan = backfill.plan(out)
    assert (plan.target, plan.reason) == (result.hash_after, "legacy v1 head")
    assert "policy_hash" in json.loads((out / "policy.json").read_text())  # dry run wrote nothing
    backfill.apply(out)
    assert head(out) == result.hash_after
    assert backfill.plan(out).reason == "up to date"
    stale = json.loads((out / "policy.json").read_text())
    stale["manifest_sha256"] = "0" * 64
    (out / "policy.json").write_text(json.dumps(stale))
    cli = run_polc("backfill", "--policy-root", str(out), "--apply", cwd=tmp_path)
    assert cli.returncode == 0 and "stale identity" in cli.stdout
    assert json.loads((out / "policy.json").read_text())["manifest_sha256"] != "0" * 64
    usage = run_polc("backfill", "--policy-root", str(out), cwd=tmp_path)
    assert usage.returncode == 2
