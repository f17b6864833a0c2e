"""A minimal bundle from weights alone: what tests and benchmarks start from without compiling a
model_policy.toml. (A migration never makes one: it carries legacy weights into the current
policy, compiler/storage/migrate.py.)

The snapshot has empty routing, capture ``none``, no budgets or gates, the
``policy_weights`` block and any extra blocks given (``surface``).

>>> import numpy as np, tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> b = seed_bundle(out, np.zeros(3), created_at="2026-01-01T00:00:00Z")
>>> (out / b.hash / "policy.weights.bin").stat().st_size
24
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..bundle import Bundle, make_bundle, point_head, storage_lock, write_bundle
from .weights import WEIGHTS_FILE, encode

EMPTY_POLICY = {
    "routing": {"cloud": {}, "reflex": {"enabled": False, "endpoint": None, "model": None, "roles": None,
                                        "gate": "reflex_promotion"}, "fallback": {}, "stages": {}},
    "capture": {"mode": "none", "store_embeddings": False},
    "budgets": {"tokens": {}, "cost": None},
    "gates": {},
}


def minimal_bundle(weights_data: bytes, weights_meta: dict, blocks: dict[str, Any] | None = None, *,
                   version: str = "0.0.0", model_type: str = "router", created_at: str | None = None,
                   manifest_extra: dict | None = None) -> Bundle:
    """A verified minimal bundle holding these weights (not yet written anywhere)."""
    from ..passes.snapshot import assemble, build_time

    all_blocks = {**EMPTY_POLICY, "policy_weights": weights_meta, **(blocks or {})}
    snapshot = assemble(all_blocks, [], created_at or build_time())
    return make_bundle(snapshot, {WEIGHTS_FILE: weights_data}, project={"version": version, "model_type": model_type},
                       manifest_extra={"weights": weights_meta, **(manifest_extra or {})})


def seed_bundle(out_dir: Path, weights, surface: dict | None = None, *, created_at: str | None = None,
                point: bool = True) -> Bundle:
    """Write a minimal bundle for ``weights`` into ``out_dir`` (and point the head at it)."""
    data, meta = encode(weights)
    bundle = minimal_bundle(data, meta, {"surface": surface} if surface else None, created_at=created_at)
    with storage_lock(out_dir):
        path = write_bundle(Path(out_dir), bundle)
        if point:
            point_head(Path(out_dir), bundle)
    return bundle.at(path)
