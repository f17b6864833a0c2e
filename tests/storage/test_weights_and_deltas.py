"""Weights format, oplus, delta apply and replay (including 1,000 deltas), and bad deltas."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from compiler.errors import IntegrityError, PolcError, UsageError
from compiler.storage import weights as wfmt
from compiler.bundle import open_bundle
from compiler.storage.deltas import DELTA_LOG, DeltaRequest, apply_delta
from compiler.storage.oplus import apply_symbolic_delta, l2_norm
from compiler.storage.replay import replay

from ..conftest import run_polc
from .helpers import SURFACE, head, log_rows, save, seeded

SPEC_FIELDS = {"cycle", "slice", "mode", "policy_hash_before", "policy_hash_after", "theta_norm_before",
               "theta_norm_after", "delta", "gradient_norm", "learning_rate", "attestation_root", "timestamp"}


def test_weights_format_is_raw_little_endian_described_by_the_manifest():
    array = np.array([[1.5, -2.0], [3.25, 0.0]], dtype=np.float32)
    data, meta = wfmt.encode(array)
    assert data == array.astype("<f4").tobytes()
    assert meta == {"format": "raw-le@1", "dtype": "float32", "shape": [2, 2],
                    "sha256": hashlib.sha256(data).hexdigest(), "byte_size": 16}
    assert np.array_equal(wfmt.decode(data, meta), array)


@pytest.mark.parametrize("damage", [lambda d: d[:-4], lambda d: d + b"\0", lambda d: b"\1" + d[1:]])
def test_truncated_or_edited_weights_are_an_integrity_error(damage):
    data, meta = wfmt.encode(np.arange(4, dtype=np.float64))
    with pytest.raises(IntegrityError) as info:
        wfmt.decode(damage(data), meta)
    assert info.value.diagnostics[0].code == "POLC333"


def test_oplus_clips_damps_and_descends():
    weights = np.zeros(2)
    new, info = apply_symbolic_delta(weights, np.array([3.0, 4.0]), 0.5, max_gradient_norm=1.0, damping_factor=0.2)
    assert new.tolist() == pytest.approx([-0.5 * 0.8 * 0.6, -0.5 * 0.8 * 0.8])
    assert info["gradient_norm"] == 5.0 and info["clipped"]
    assert info["l2_norm"] == pytest.approx(0.4)
    unclipped, info = apply_symbolic_delta(weights, np.array([0.3, 0.4]), 1.0, max_gradient_norm=1.0)
    assert unclipped.tolist() == pytest.approx([-0.3, -0.4]) and not info["clipped"]
    assert l2_norm(np.array([3.0, 4.0])) == 5.0


def test_float32_weights_stay_float32():
    new, _ = apply_symbolic_delta(np.ones(3, np.float32), np.ones(3, np.float32), 0.1)
    assert new.dtype == np.float32


def test_delta_apply_writes_a_new_bundle_and_logs_every_field(tmp_path):
    out = tmp_path / "out"
    base = seeded(out)
    delta = save(tmp_path / "d.npy", np.linspace(0, 2, 16))
    row = apply_delta(base.path, delta, DeltaRequest(0.05, 173, "goal", attestation_root="Ht_abc"))
    assert SPEC_FIELDS <= set(row)
    assert row["policy_update_applied"] is True and row["attestation_root"] == "Ht_abc"
    assert row["delta"]["type"] == "symbolic_descent" and len(row["delta"]["payload"]) == 16
    new = open_bundle(out / row["policy_hash_after"])  # verifies every hash
    assert head(out) == new.hash != base.hash
    assert open_bundle(base.path).hash == base.hash  # the old bundle is untouched
    expected, _ = apply_symbolic_delta(np.linspace(-1, 1, 16), np.linspace(0, 2, 16), 0.05,
                                       max_gradient_norm=0.5, damping_factor=0.2)
    assert new.files["policy.weights.bin"] == expected.astype("<f8").tobytes()
    assert row["weights_sha256_after"] == hashlib.sha256(new.files["policy.weights.bin"]).hexdigest()
    # The bundle carries the row that produced it; the out dir's log has the same bytes.
    assert new.files[DELTA_LOG] == (out / DELTA_LOG).read_bytes()
    assert json.loads(new.files[DELTA_LOG])["policy_hash_after"] == new.hash
    ledger = log_rows(out / "policy_hash_ledger.jsonl")
    assert ledger[-1]["event"] == "delta" and ledger[-1]["hash"] == new.hash


@pytest.mark.parametrize("make, code", [
    (lambda: np.ones(15), "POLC340"),
    (lambda: np.ones((4, 4)), "POLC340"),
    (lambda: np.ones(16, np.float32), "POLC341"),
    (lambda: np.arange(16), "POLC341"),
    (lambda: np.array([np.nan] + [0.0] * 15), "POLC342"),
    (lambda: np.array([np.inf] + [0.0] * 15), "POLC342"),
])
def test_bad_deltas_are_refused_and_nothing_changes(tmp_path, make, code):
    out = tmp_path / "out"
    base = seeded(out)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(PolcError) as info:
        apply_delta(base.path, save(tmp_path / "d.npy", make()), DeltaRequest(0.1, 1, "goal"))
    assert info.value.diagnostics[0].code == code
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        [n for n in before if not n.startswith(".")]
    assert head(out) == base.hash


def test_pickled_or_garbage_delta_files_are_input_errors(tmp_path):
    out = tmp_path / "out"
    base = seeded(out)
    pickled = tmp_path / "p.npy"
    with open(pickled, "wb") as fh:
        np.save(fh, np.array([object()] * 16, dtype=object), allow_pickle=True)
    garbage = tmp_path / "g.npy"
    garbage.write_bytes(b"\x93NUMPY garbage")
    for path in (pickled, garbage, tmp_path / "missing.npy"):
        with pytest.raises(PolcError) as info:
            apply_delta(base.path, path, DeltaRequest(0.1, 1, "goal"))
        assert info.value.diagnostics[0].code == "POLC343"
    with pytest.raises(UsageError):
        apply_delta(base.path, np.ones(16), DeltaRequest(float("nan"), 1, "goal"))


def test_a_bundle_without_weights_cannot_take_a_delta(tmp_path):
    # A compiled bundle without [sources].weights has no policy_weights block.
    from compiler.bundle import make_bundle, write_bundle
    from compiler.passes.snapshot import assemble
    from compiler.storage.seed import EMPTY_POLICY

    out = tmp_path / "out"
    out.mkdir()
    snap = assemble(dict(EMPTY_POLICY), [], "2026-01-01T00:00:00Z")
    path = write_bundle(out, make_bundle(snap))
    with pytest.raises(PolcError) as info:
        apply_delta(path, np.ones(1), DeltaRequest(0.1, 1, "goal"))
    assert info.value.diagnostics[0].code == "POLC347"


def test_a_write_that_does_not_match_is_reverted_and_logged_as_not_applied(tmp_path, monkeypatch):
    import compiler.storage.deltas as bundle_mod

    out = tmp_path / "out"
    base = seeded(out)
    real = bundle_mod.write_bundle

    def corrupting(out_dir, bundle):  # the disk returns other bytes than were written
        path = real(out_dir, bundle)
        weights = path / "policy.weights.bin"
        weights.write_bytes(b"\0" * len(weights.read_bytes()))
        return path

    monkeypatch.setattr(bundle_mod, "write_bundle", corrupting)
    with pytest.raises(IntegrityError) as info:
        apply_delta(base.path, np.ones(16), DeltaRequest(0.1, 7, "goal"))
    assert info.value.diagnostics[0].code == "POLC344"
    rows = log_rows(out / DELTA_LOG)
    assert len(rows) == 1 and rows[0]["policy_update_applied"] is False
    assert not (out / rows[0]["policy_hash_after"]).exists()  # reverted
    assert head(out) == base.hash
    assert [r["event"] for r in log_rows(out / "policy_hash_ledger.jsonl")] == []


@pytest.fixture
def fast_dir(tmp_path):
    """A directory on tmpfs when there is one: 1,000 bundles cost ~12,000 fsyncs, which this
    test of exactness (not of durability) need not wait for on a real disk."""
    import shutil
    import tempfile
    from pathlib import Path

    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="polc-test-", dir=shm))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_replay_of_1000_deltas_reproduces_every_hash_exactly(fast_dir):
    out = fast_dir / "out"
    base = seeded(out, n=32, dtype=np.float32)
    rng = np.random.default_rng(2026)
    last = None
    for cycle in range(1000):
        delta = rng.normal(0, 0.3, 32).astype(np.float32)
        last = apply_delta(out / head(out), delta, DeltaRequest(float(rng.uniform(0.001, 0.1)), cycle, "goal"))
    result, weights = replay(base.path, out / DELTA_LOG)
    assert result.applied == 1000 and result.final == last["policy_hash_after"] == head(out)
    final = open_bundle(out / head(out))
    assert weights.astype("<f4").tobytes() == final.files["policy.weights.bin"]
    assert result.final_weights_sha256 == final.snapshot["policy_weights"]["sha256"]


def test_replay_detects_an_edited_log_and_a_broken_chain(tmp_path):
    out = tmp_path / "out"
    base = seeded(out)
    for cycle in range(3):
        apply_delta(out / head(out), np.full(16, 0.01 * (cycle + 1)), DeltaRequest(0.1, cycle, "goal"))
    log = out / DELTA_LOG
    lines = log.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["delta"]["payload"][0] += 1e-9
    forged = tmp_path / "forged.jsonl"
    # Keep the chain intact from row 2 on by re-chaining: replay must still catch the payload.
    from compiler.storage.jsonl import append_row

    for i, line in enumerate(lines):
        row = edited if i == 1 else json.loads(line)
        append_row(forged, {k: v for k, v in row.items() if k != "prev_sha256"})
    with pytest.raises(IntegrityError) as info:
        replay(base.path, forged)
    assert info.value.diagnostics[0].code == "POLC346" and "row 2" in info.value.diagnostics[0].message
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join([lines[0], lines[2]]) + "\n")
    with pytest.raises(IntegrityError) as info:
        replay(base.path, dropped)
    assert "row 2" in info.value.diagnostics[0].message and "chain" in info.value.diagnostics[0].message


def test_delta_cli_end_to_end(tmp_path):
    out = tmp_path / "out"
    seeded(out)
    save(tmp_path / "d.npy", np.linspace(0, 1, 16))
    save(tmp_path / "wrong.npy", np.ones(3))
    first = run_polc("delta", "apply", str(out / "policy.json"), str(tmp_path / "d.npy"), "--lr", "0.1",
                     "--cycle", "1", "--slice", "goal", "--format", "json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["policy_hash_after"] == head(out)
    bad = run_polc("delta", "apply", str(out / "policy.json"), str(tmp_path / "wrong.npy"), "--lr", "0.1",
                   "--cycle", "2", "--slice", "goal", cwd=tmp_path)
    assert bad.returncode == 1 and "POLC340" in bad.stderr and "Traceback" not in bad.stderr
    usage = run_polc("delta", "apply", str(out / "policy.json"), str(tmp_path / "d.npy"), "--lr", "-1",
                     "--cycle", "2", "--slice", "goal", cwd=tmp_path)
    assert usage.returncode == 2 and "POLC342" in usage.stderr
    replayed = run_polc("delta", "replay", payload["policy_hash_before"], "--out", str(out), cwd=tmp_path)
    assert replayed.returncode == 0 and payload["policy_hash_after"] in replayed.stdout
    (out / DELTA_LOG).write_text("not json\n")
    broken = run_polc("delta", "replay", payload["policy_hash_before"], "--out", str(out), cwd=tmp_path)
    assert broken.returncode == 3 and "POLC345" in broken.stderr


def test_surface_controls_come_from_the_bundle(tmp_path):
    no_clip = {**SURFACE, "curvature_controls": {"max_gradient_norm": None, "damping_factor": 0.0}}
    out = tmp_path / "out"
    base = seeded(out, surface=no_clip)
    row = apply_delta(base.path, np.full(16, 10.0), DeltaRequest(1.0, 0, "goal"))
    assert row["clipped"] is False and row["delta"]["l2_norm"] == pytest.approx(40.0)


def test_an_apply_interrupted_after_its_log_row_is_finished_by_the_next(tmp_path, monkeypatch):
    import compiler.storage.deltas as deltas

    out = tmp_path / "out"
    base = seeded(out)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies right after the commit point

    monkeypatch.setattr(deltas, "point_head", crash)
    with pytest.raises(KeyboardInterrupt):
        apply_delta(out / "policy.json", np.full(16, 0.1), DeltaRequest(0.1, 1, "goal"))
    monkeypatch.undo()
    committed = log_rows(out / DELTA_LOG)[0]["policy_hash_after"]
    assert head(out) == base.hash
    second = apply_delta(out / "policy.json", np.full(16, 0.1), DeltaRequest(0.1, 2, "goal"))
    assert second["policy_hash_before"] == committed  # rolled forward first, then applied
    assert [r["hash"] for r in log_rows(out / "policy_hash_ledger.jsonl")] == [committed, second["policy_hash_after"]]


def test_a_restore_after_a_delta_is_not_rolled_forward(tmp_path):
    from compiler.storage.archive import archive_bundle, restore
    from compiler.storage.deltas import recover_interrupted

    out = tmp_path / "out"
    base = seeded(out)
    archive = archive_bundle(out, base.hash, tmp_path / "archive", day="d")
    apply_delta(out / "policy.json", np.full(16, 0.1), DeltaRequest(0.1, 1, "goal"))
    restore(archive, out, "roll back", "ops")
    assert recover_interrupted(out) is None and head(out) == base.hash


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_the_python_api_refuses_non_finite_deltas_as_the_cli_does(bad):
    from compiler.storage.oplus import DeltaError

    delta = np.array([0.1, bad, 0.2])
    with pytest.raises(DeltaError) as info:
        apply_symbolic_delta(np.zeros(3), delta, 0.05)
    assert isinstance(info.value, ValueError) and isinstance(info.value, PolcError)
    assert info.value.diagnostics[0].code == "POLC342" and "flat index 1" in info.value.message
    with pytest.raises(DeltaError) as info:
        apply_symbolic_delta(np.array([0.0, bad, 0.0]), np.zeros(3), 0.05)
    assert info.value.diagnostics[0].code == "POLC332"
    for lr in (float("nan"), float("inf"), 0.0, -1.0):
        with pytest.raises(DeltaError) as info:
            apply_symbolic_delta(np.zeros(3), np.zeros(3), lr)
        assert info.value.diagnostics[0].code == "POLC342"


def test_a_surface_that_requires_attestation_refuses_unattested_deltas(tmp_path):
    from compiler.storage.deltas import DeltaRequest, apply_delta
    from tests.conftest import example_project

    root = example_project(tmp_path / "example", weights=np.linspace(-1, 1, 4))
    surface = root / "examples" / "policy.surface.yaml"
    surface.write_text(surface.read_text().replace("  enabled: true\n", "  enabled: true\n  require_attestation: true\n"))
    assert run_polc("build", cwd=root).returncode == 0
    head = root / "artifacts" / "policy" / "policy.json"
    before = head.read_bytes()
    save(tmp_path / "d.npy", np.full(4, 0.1))
    refused = run_polc("delta", "apply", str(head), str(tmp_path / "d.npy"), "--lr", "0.05", "--cycle", "1",
                       "--slice", "goal", cwd=root)
    assert refused.returncode == 2 and "POLC398" in refused.stderr and "--attestation-root" in refused.stderr
    with pytest.raises(PolcError) as info:
        apply_delta(head, np.full(4, 0.1), DeltaRequest(0.05, 1, "goal"))
    assert info.value.diagnostics[0].code == "POLC398" and head.read_bytes() == before
    done = run_polc("delta", "apply", str(head), str(tmp_path / "d.npy"), "--lr", "0.05", "--cycle", "1",
                    "--slice", "goal", "--attestation-root", "Ht_173", cwd=root)
    assert done.returncode == 0, done.stderr
    assert json.loads((head.parent / "delta_log.jsonl").read_text().splitlines()[-1])["attestation_root"] == "Ht_173"
