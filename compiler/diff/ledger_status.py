"""Drift status for a ledger row (spec 000 §8): this snapshot against the ledger's previous one.

``polc ledger snapshot --notes TEXT`` (issue 5) appends a row to ``policy_hash_ledger.jsonl``
with the drift status against the previous row; the ledger file and its rows belong to
``compiler.storage.ledger``, and this module computes the drift part of such a row:

    details = drift_since_previous(out_dir, snapshot, settings)
    ledger.record(out_dir, "snapshot", snapshot, manifest, notes=notes, **details)

>>> learning_rate_spread({"optimizer": {"learning_rate": 0.01}}, {"optimizer": {"learning_rate": 0.03}})
{'old': 0.01, 'new': 0.03, 'ratio': 3.0}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

LEDGER_FILE = "policy_hash_ledger.jsonl"


def drift_since_previous(out_dir: Path, snapshot: dict, settings: Mapping[str, Any] | None = None) -> dict:
    """``against`` (the previous row's hash), ``drift_status``, the unaccepted findings and the
    learning-rate spread; ``OK`` against nothing when the ledger has no earlier policy."""
    previous = previous_hash(out_dir, snapshot["hash"])
    if previous is None:
        return {"against": None, "drift_status": "OK", "drift_findings": [],
                "learning_rate_spread": learning_rate_spread({}, snapshot)}
    from . import artifacts
    from .review import review_snapshots

    old = artifacts.load_bundle(Path(out_dir) / previous)
    report = review_snapshots(old, snapshot, settings=settings)
    findings = [{"rule_id": f.rule_id, "severity": f.severity.value, "fingerprint": f.fingerprint,
                 "accepted": f.accepted} for f in report.findings]
    return {"against": previous, "drift_status": report.status, "drift_findings": findings,
            "learning_rate_spread": learning_rate_spread(old, snapshot)}


def previous_hash(out_dir: Path, current: str) -> str | None:
    """The hash of the latest ledger row about another policy than ``current``."""
    from ..storage import jsonl

    for row, _line in reversed(jsonl.read_rows(Path(out_dir) / LEDGER_FILE, "POLC370")):
        digest = row.get("hash")
        if isinstance(digest, str) and digest != current:
            return digest
    return None


def learning_rate_spread(old: Mapping, new: Mapping) -> dict | None:
    """The learning rate before and after (optimizer, else surface.symbolic_descent), and their ratio."""
    before, after = _learning_rate(old), _learning_rate(new)
    if before is None and after is None:
        return None
    ratio = after / before if before and after is not None else None
    return {"old": before, "new": after, "ratio": ratio}


def _learning_rate(snapshot: Mapping) -> float | None:
    for block, key in (("optimizer", None), ("surface", "symbolic_descent")):
        table = snapshot.get(block)
        if isinstance(table, Mapping) and key:
            table = table.get(key)
        value = table.get("learning_rate") if isinstance(table, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None
