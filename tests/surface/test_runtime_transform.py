"""``snap.surface.transform``: clipping into bounds, then the declared transform, vectorized."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from compiler.runtime.surface import Surface, SurfaceError
from compiler.sources import Source
from compiler.surface.normalize import normalize
from compiler.surface.yaml_front import parse_yaml

from .test_front_end import EXAMPLE

BLOCK = normalize(parse_yaml(Source("x", None, EXAMPLE, "", 0)).data)


def by_hand(atoms, depth, lean):
    """The example surface written out as a plain numpy expression."""
    return np.column_stack([np.log1p(np.clip(atoms, 1, 64)), np.clip(depth, 1, 8), (np.clip(lean, 0, 1) - 0) / 1])


def test_one_row_gives_a_vector_in_feature_order():
    out = Surface(BLOCK).transform({"depth": 3, "lean_score": 0.25, "atoms": 7, "extra": "ignored"})
    assert out.shape == (3,)
    assert out.tolist() == pytest.approx([np.log1p(7), 3.0, 0.25])


def test_values_are_clipped_into_bounds_before_the_transform():
    out = Surface(BLOCK).transform({"atoms": 1000, "depth": -5, "lean_score": 2.0})
    assert out.tolist() == pytest.approx([np.log1p(64), 1.0, 1.0])


def test_batch_of_columns_matches_the_hand_written_expression():
    rng = np.random.default_rng(7)
    atoms, depth, lean = rng.uniform(-10, 100, 1000), rng.uniform(0, 10, 1000), rng.uniform(-1, 2, 1000)
    out = Surface(BLOCK).transform({"atoms": atoms, "depth": depth, "lean_score": lean})
    assert out.shape == (1000, 3)
    assert np.array_equal(out, by_hand(atoms, depth, lean))


def test_batch_of_row_dicts():
    rows = [{"atoms": 2, "depth": 2, "lean_score": 0.5}, {"atoms": 3, "depth": 9, "lean_score": 0.1}]
    out = Surface(BLOCK).transform(rows)
    assert np.array_equal(out, by_hand([2, 3], [2, 9], [0.5, 0.1]))


def test_every_transform_and_minmax_scaling():
    block = {"surface_version": "policy_surface@v3", "feature_space": [
        {"name": "a", "transform": "sqrt", "bounds": [0.0, 100.0]},
        {"name": "b", "transform": "tanh", "bounds": None},
        {"name": "c", "transform": "minmax", "bounds": [10.0, 20.0]},
        {"name": "d", "transform": "identity", "bounds": None}]}
    out = Surface(block).transform({"a": [16, -4], "b": [0.5, 100], "c": [15, 30], "d": [-1e9, np.nan]})
    assert out[:, 0].tolist() == [4.0, 0.0]
    assert out[:, 1].tolist() == pytest.approx([np.tanh(0.5), 1.0])
    assert out[:, 2].tolist() == [0.5, 1.0]
    assert out[0, 3] == -1e9 and np.isnan(out[1, 3])


def test_missing_feature_and_ragged_columns_are_clear_errors():
    surface = Surface(BLOCK)
    with pytest.raises(SurfaceError, match="lean_score"):
        surface.transform({"atoms": 1, "depth": 1})
    with pytest.raises(SurfaceError, match="shape"):
        surface.transform({"atoms": [1, 2], "depth": [1], "lean_score": [0, 1]})
    with pytest.raises(SurfaceError, match="missing feature"):
        surface.transform([{"atoms": 1, "depth": 1}])


def test_safe_modes_follow_their_toggles():
    surface = Surface(BLOCK)
    assert surface.active_safe_modes({"POLICY_SAFE_MODE": "1"}) == ("deterministic_eval",)
    assert surface.active_safe_modes({"POLICY_SAFE_MODE": "0", "POLICY_SHADOW_MODE": "1"}) == ("shadow",)


def test_importing_the_runtime_surface_does_not_import_numpy():
    code = "import sys, compiler.runtime.surface; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_loaded_snapshot_exposes_its_surface(tmp_path):
    from compiler.pipeline import build
    from compiler.runtime import load_snapshot

    from .test_surface_build import surface_project

    root = surface_project(tmp_path / "p")
    assert build(root).ok
    snap = load_snapshot(root / "artifacts" / "policy" / "policy.json")
    assert snap.surface.version == "policy_surface@v1"
    assert snap.surface.transform({"atoms": 7, "depth": 3, "lean_score": 0.25}).tolist() == \
        pytest.approx([np.log1p(7), 3.0, 0.25])
