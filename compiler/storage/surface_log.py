"""A surface change is logged as a delta of type ``surface_change`` (spec 000 §5).

When a build replaces a head whose snapshot has a different surface, one row goes to
``<out>/delta_log.jsonl`` with the same fields as an oplus row; its payload says what
changed (versions, and the sha256 of each side's normalized surface)::

    {"delta": {"type": "surface_change", "payload": {"surface_version_before": "policy_surface@v1",
      "surface_version_after": "policy_surface@v2", "surface_sha256_before": "…",
      "surface_sha256_after": "…"}, "l2_norm": null}, "policy_update_applied": true, …}
"""

from __future__ import annotations

import json
from pathlib import Path

from . import jsonl


def _surface_of(out_dir: Path, digest: str | None) -> dict | None:
    if not digest:
        return None
    try:
        return json.loads((out_dir / digest / "snapshot.json").read_bytes()).get("surface")
    except (OSError, ValueError, AttributeError):
        return None


def log_surface_change(out_dir: Path, previous: str | None, snapshot: dict) -> None:
    from ..canonical import content_hash
    from ..passes.snapshot import build_time

    before, after = _surface_of(out_dir, previous), snapshot.get("surface")
    if before is None or after is None or before == after:
        return
    weights_before = json.loads((out_dir / previous / "snapshot.json").read_bytes()).get("policy_weights") or {}
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
    jsonl.append_row(out_dir / "delta_log.jsonl", row)
