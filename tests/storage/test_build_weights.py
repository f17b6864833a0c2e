"""[sources].weights through the compiler: the bundle's policy.weights.bin, and bad weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from compiler.pipeline import build, check
from compiler.bundle import open_bundle
from compiler.storage.deltas import bundle_weights

from ..conftest import make_project, run_polc
from .helpers import save


def weights_project(tmp_path, name: str = "w.npy"):
    root = make_project(tmp_path / "p")
    (root / "policy.toml").write_text(f'[sources]\nmodel_policy = "model_policy.toml"\nweights = "{name}"\n')
    return root


def test_weights_go_into_the_bundle_snapshot_and_manifest(tmp_path):
    root = weights_project(tmp_path)
    array = np.linspace(0, 1, 10, dtype=np.float32).reshape(2, 5)
    save(root / "w.npy", array)
    result = build(root)
    assert result.ok, result.diagnostics
    bundle = open_bundle(result.bundle_dir)
    assert np.array_equal(bundle_weights(bundle), array)
    meta = result.snapshot["policy_weights"]
    assert meta["dtype"] == "float32" and meta["shape"] == [2, 5] and meta["byte_size"] == 40
    assert bundle.manifest["weights"] == meta
    assert bundle.manifest["files"]["policy.weights.bin"]["sha256"] == meta["sha256"]
    assert "w.npy" in result.snapshot["source_files"]
    # Other weights, another content hash.
    save(root / "w.npy", array + 1)
    assert build(root).hash != result.hash


@pytest.mark.parametrize("make, code, exit_code", [
    (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), "POLC330", 3),
    (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00garbage"), "POLC330", 3),
    (lambda p: p.write_bytes(open_npy_bytes()[:-5]), "POLC330", 3),   # truncated
    (lambda p: np.save(p, np.arange(4)), "POLC331", 1),                 # integers
    (lambda p: np.save(p, np.array([], dtype=np.float64)), "POLC331", 1),
    (lambda p: np.save(p, np.array([1.0, np.nan])), "POLC332", 1),
])
def test_bad_weights_are_refused_with_the_policy_toml_position(tmp_path, make, code, exit_code):
    from compiler.codes import exit_code_for

    root = weights_project(tmp_path)
    make(root / "w.npy")
    result = build(root)
    assert [(d.code, str(d.span)) for d in result.diagnostics] == [(code, "policy.toml:3:11")]
    assert exit_code_for(result.diagnostics) == exit_code
    assert not (root / "artifacts" / "policy" / "policy.json").exists()


def test_pickled_weights_through_the_cli(tmp_path):
    root = weights_project(tmp_path)
    np.save(root / "w.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = run_polc("build", cwd=root)
    output = result.stdout + result.stderr
    assert result.returncode == 3 and "POLC330" in output and "policy.toml:3:11" in output
    assert "Traceback" not in output


def open_npy_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.arange(8, dtype=np.float64))
    return buffer.getvalue()


def test_weights_outside_the_project_or_not_npy_are_refused(tmp_path):
    root = weights_project(tmp_path, "../outside.npy")
    save(tmp_path / "outside.npy", np.ones(2))
    assert [d.code for d in check(root)] == ["POLC005"]
    root2 = weights_project(tmp_path / "b", "w.pkl")
    assert "POLC011" in [d.code for d in check(root2)]


def test_a_truncated_weights_file_in_a_bundle_is_an_integrity_failure(tmp_path):
    root = weights_project(tmp_path)
    save(root / "w.npy", np.ones(8))
    digest = build(root).hash
    out = root / "artifacts" / "policy"
    weights = out / digest / "policy.weights.bin"
    weights.write_bytes(weights.read_bytes()[:-8])
    save(tmp_path / "d.npy", np.ones(8))
    applied = run_polc("delta", "apply", str(out / "policy.json"), str(tmp_path / "d.npy"), "--lr", "0.1",
                       "--cycle", "0", "--slice", "s", cwd=root)
    assert applied.returncode == 4 and "POLC704" in applied.stderr
    verified = run_polc("verify", cwd=root)
    assert verified.returncode == 4 and "policy.weights.bin" in verified.stderr
    assert json.loads((out / "policy.json").read_text())["active"] == digest
