"""A migration carries the legacy weights into a bundle of the current policy (or refuses), the
legacy policy_hash is checked against the weights, and a legacy v1 head is reported as legacy,
not as tampering — on the example project of the repository."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from compiler.bundle import open_bundle, open_head
from compiler.errors import InputError
from compiler.runtime import load_snapshot
from compiler.storage.deltas import bundle_weights

from ..conftest import REPO, run_polc
from .test_migrate_backfill import legacy


@pytest.fixture
def example(tmp_path):
    """A copy of the repository's example project (policy.toml + examples/), built."""
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(REPO / "policy.toml", root / "policy.toml")
    shutil.copytree(REPO / "examples", root / "examples")
    built = run_polc("build", cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    return root


def test_migrate_keeps_routing_capture_and_budgets_of_the_current_policy(example, tmp_path):
    out = example / "artifacts" / "policy"
    before = open_head(out)
    src = legacy(tmp_path, np.linspace(-2, 2, 5))
    done = run_polc("migrate", "--source", str(src), "--format", "json", cwd=example)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["policy"] == before.hash and report["head_moved"] is True
    route = run_polc("route", "architect", "--format", "json", cwd=example)
    assert route.returncode == 0, route.stderr  # the live policy still has its roles
    assert [c["model"] for c in json.loads(route.stdout)["candidates"]][:1] == ["claude-sonnet-4-20250514"]
    after = open_head(out)
    assert after.hash == report["hash_after"] != before.hash
    for block in ("routing", "capture", "budgets", "gates", "surface", "rules"):
        assert after.snapshot[block] == before.snapshot[block], block
    assert after.snapshot["capture"]["mode"] == "prompts_only" and after.snapshot["budgets"]["cost"] is not None
    assert np.array_equal(bundle_weights(after), np.linspace(-2, 2, 5))
    assert after.snapshot["legacy"]["policy_hash"] == report["hash_before"]
    assert after.version == before.version  # the current policy's version; the legacy one is in `legacy`
    assert load_snapshot(out / "policy.json").route("architect")


def test_migrate_without_a_current_policy_refuses_and_says_what_it_needs(tmp_path):
    src = legacy(tmp_path)
    out = tmp_path / "out"
    refused = run_polc("migrate", "--source", str(src), "--out", str(out), cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "POLC394" in refused.stderr and "polc build" in refused.stderr and "--policy" in refused.stderr
    assert not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith("."))


def test_legacy_head_migrates_into_a_named_policy_and_backfill_points_at_it(example, tmp_path):
    # Spec 000's layout: the out dir's policy.json *is* the legacy v1 file, beside its weights.
    legacy_out = legacy(tmp_path, np.arange(3, dtype=np.float64), name="legacy_out")
    legacy_json = (legacy_out / "policy.json").read_bytes()
    current = example / "artifacts" / "policy"
    done = run_polc("migrate", "--source", str(legacy_out), "--out", str(legacy_out), "--policy", str(current),
                    "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["head_moved"] is False
    assert (legacy_out / "policy.json").read_bytes() == legacy_json  # the source is never rewritten
    migrated = open_bundle(legacy_out / report["hash_after"])
    assert migrated.snapshot["routing"] == open_head(current).snapshot["routing"]
    text = run_polc("migrate", "--source", str(legacy_out), "--out", str(legacy_out), "--policy", str(current),
                    "--dry-run", cwd=tmp_path)
    assert text.returncode == 0 and report["hash_after"] in text.stdout
    applied = run_polc("backfill", "--policy-root", str(legacy_out), "--apply", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert load_snapshot(legacy_out / "policy.json").hash == report["hash_after"]


def test_a_legacy_policy_hash_that_does_not_match_the_weights_is_exit_4(example, tmp_path):
    out = example / "artifacts" / "policy"
    head_before = (out / "policy.json").read_bytes()
    src = legacy(tmp_path)
    manifest = json.loads((src / "policy.json").read_text())
    manifest["policy_hash"] = "0" * 64
    (src / "policy.json").write_text(json.dumps(manifest))
    refused = run_polc("migrate", "--source", str(src), cwd=example)
    assert refused.returncode == 4, refused.stderr
    assert "POLC396" in refused.stderr and "0" * 64 in refused.stderr
    assert hashlib.sha256((src / "policy.weights.npy").read_bytes()).hexdigest() in refused.stderr
    assert (out / "policy.json").read_bytes() == head_before and not (out / "MIGRATIONS.md").exists()


def test_a_pickle_with_a_wrong_policy_hash_is_refused_before_it_is_unpickled(example, tmp_path):
    src = legacy(tmp_path, np.ones(3), pickled=True)
    manifest = json.loads((src / "policy.json").read_text())
    manifest["policy_hash"] = "f" * 64
    (src / "policy.json").write_text(json.dumps(manifest))
    refused = run_polc("migrate", "--source", str(src), "--allow-pickle", cwd=example)
    assert refused.returncode == 4 and "POLC396" in refused.stderr and "POLC393" not in refused.stderr


def test_a_legacy_file_without_policy_hash_migrates_with_a_warning(example, tmp_path):
    src = legacy(tmp_path)
    manifest = json.loads((src / "policy.json").read_text())
    del manifest["policy_hash"]
    (src / "policy.json").write_text(json.dumps(manifest))
    done = run_polc("migrate", "--source", str(src), "--format", "json", cwd=example)
    assert done.returncode == 0 and "POLC397" in done.stderr
    digest = hashlib.sha256((src / "policy.weights.npy").read_bytes()).hexdigest()
    assert json.loads(done.stdout)["hash_before"] == digest


def test_a_legacy_v1_head_is_reported_as_legacy_not_as_tampering(example, tmp_path):
    out = example / "artifacts" / "policy"
    src = legacy(tmp_path)
    (out / "policy.json").write_bytes((src / "policy.json").read_bytes())
    for args in (("current",), ("list",), ("route", "architect")):
        result = run_polc(*args, cwd=example)
        assert result.returncode == 3, (args, result.stdout, result.stderr)
        assert "POLC711" in result.stderr and "legacy v1 policy.json" in result.stderr, args
        assert "POLC702" not in result.stderr and "edited" not in result.stderr
        assert "polc migrate" in result.stderr and f"polc backfill --policy-root {out} --apply" in result.stderr
    with pytest.raises(InputError) as info:
        load_snapshot(out / "policy.json")
    assert info.value.diagnostics[0].code == "POLC711"
    (out / "policy.json").write_text(json.dumps({"weights_file": "w.npy", "version": "2025.01.01"}))  # the oldest
    with pytest.raises(InputError) as info:
        load_snapshot(out / "policy.json")
    assert info.value.diagnostics[0].code == "POLC711"
