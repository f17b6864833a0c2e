"""A surface change is logged as a delta of type ``surface_change`` (docs/surfaces.md).

When a build replaces a head whose snapshot has a different surface, one row goes to
``<out>/delta_log.jsonl`` with the same fields as an oplus row; its payload says what
changed (versions, and the sha256 of each side's normalized surface)::

    {"delta": {"type": "surface_change", "payload": {"surface_version_before": "policy_surface@v1",
      "surface_version_after": "policy_surface@v2", "surface_sha256_before": "…",
      "surface_sha256_after": "…"}, "l2_norm": null}, "policy_update_applied": true, …}
"""

from __future__ import annotations

from pathlib import Path

from ..bundle import DELTA_LOG_FILE, Bundle, open_bundle
from ..errors import PolcError
from ..jsonlog import append_row


def _previous(out_dir: Path, digest: str | None) -> Bundle | None:
    if not digest:
        return None
    try:
        return open_bundle(out_dir / digest)
    except PolcError:  # a damaged or missing previous bundle: `polc verify` reports it, not the build
        return None


def log_surface_change(out_dir: Path, previous: str | None, bundle: Bundle) -> None:
    from ..canonical import content_hash
    from ..clock import build_time

    snapshot = bundle.snapshot
    old = _previous(out_dir, previous)
    before, after = (old.snapshot.get("surface") if old else None), snapshot.get("surface")
    if before is None or after is None or before == after:
        return
    weights_before = old.snapshot.get("policy_weights") or {}
    weights_after = snapshot.get("policy_weights") or {}
    row = {
        "cycle": None, "slice": None, "mode": "build",
        "policy_hash_before": previous, "policy_hash_after": snapshot["hash"],
        "theta_norm_before": None, "theta_norm_after": None,
        "delta": {"type": "surface_change", "l2_norm": None, "payload": {
            "surface_version_before": before.get("surface_version"),
            "surface_version_after": after.get("surface_version"),
            "surface_sha256_before": content_hash(before), "surface_sha256_after": content_hash(after)}},
        "gradient_norm": None, "learning_rate": None, "attestation_root": None, "timestamp": build_time(),
        "policy_update_applied": True,
        "weights_sha256_before": weights_before.get("sha256"), "weights_sha256_after": weights_after.get("sha256"),
    }
    append_row(out_dir / DELTA_LOG_FILE, row)
