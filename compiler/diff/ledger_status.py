"""Drift status for a ledger row (docs/diff.md "The ledger's drift status"): this snapshot against the ledger's previous one.

``polc ledger snapshot --notes TEXT`` appends a row to ``policy_hash_ledger.jsonl``
with the drift status against the previous row; the ledger file and its rows belong to
``compiler.storage.ledger``, and this module computes the drift part of such a row:

    details = drift_since_previous(out_dir, bundle, settings)
    ledger.record(out_dir, "snapshot", bundle, notes=notes, **details)

>>> learning_rate_spread({"optimizer": {"learning_rate": 0.01}}, {"optimizer": {"learning_rate": 0.03}})
{'old': 0.01, 'new': 0.03, 'ratio': 3.0}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

LEDGER_FILE = "policy_hash_ledger.jsonl"
#: The member of a drift view that carries the delta which produced a bundle (not a snapshot block).
APPLIED_DELTA = "applied_delta"


def drift_since_previous(out_dir: Path, new, settings: Mapping[str, Any] | None = None) -> dict:
    """``against`` (the previous row's hash), ``drift_status``, the unaccepted findings and the
    learning-rate spread; ``OK`` against nothing when the ledger has no earlier policy.

    ``new`` is a verified ``Bundle`` (or a bare snapshot dict). Both sides are compared as
    ``drift_view``s, so a bundle made by ``polc delta apply`` is judged with its learning rate.
    """
    view = drift_view(new)
    previous = previous_hash(out_dir, view["hash"])
    if previous is None:
        return {"against": None, "drift_status": "OK", "drift_findings": [],
                "learning_rate_spread": learning_rate_spread({}, view)}
    from ..bundle import open_bundle
    from .review import review_snapshots

    old = drift_view(open_bundle(Path(out_dir) / previous))
    report = review_snapshots(old, view, settings=settings)
    findings = [{"rule_id": f.rule_id, "severity": f.severity.value, "fingerprint": f.fingerprint,
                 "accepted": f.accepted} for f in report.findings]
    return {"against": previous, "drift_status": report.status, "drift_findings": findings,
            "learning_rate_spread": learning_rate_spread(old, view)}


def drift_view(bundle) -> dict:
    """The snapshot the drift rules judge: a bundle's snapshot plus, for a bundle an oplus delta
    produced, ``applied_delta`` (its ``delta_log.jsonl`` row's learning rate, cycle, slice, mode
    and attestation root) — the learning rate of a delta lives in its row, not in the snapshot.

    >>> drift_view({"hash": "h"})
    {'hash': 'h'}
    """
    if isinstance(bundle, Mapping):
        return dict(bundle)
    from ..bundle import DELTA_LOG_FILE
    from ..bundle.jsonio import parse_written

    view = dict(bundle.snapshot)
    data = bundle.files.get(DELTA_LOG_FILE)
    if data is not None:  # verified with the bundle: one JSON row producing this hash
        row = parse_written(data, DELTA_LOG_FILE, "delta row", "POLC704")
        view[APPLIED_DELTA] = {k: row.get(k) for k in ("learning_rate", "cycle", "slice", "mode", "attestation_root",
                                                       "policy_hash_before")}
    return view


def previous_hash(out_dir: Path, current: str) -> str | None:
    """The hash of the latest ledger row about another policy than ``current``."""
    from ..jsonlog import read_rows

    for row, _line in reversed(read_rows(Path(out_dir) / LEDGER_FILE, "POLC370")):
        digest = row.get("hash")
        if isinstance(digest, str) and digest != current:
            return digest
    return None


def learning_rate_spread(old: Mapping, new: Mapping) -> dict | None:
    """The learning rate before and after (the applied delta's, else optimizer, else
    surface.symbolic_descent), and their ratio."""
    before, after = _learning_rate(old), _learning_rate(new)
    if before is None and after is None:
        return None
    ratio = after / before if before and after is not None else None
    return {"old": before, "new": after, "ratio": ratio}


def _learning_rate(snapshot: Mapping) -> float | None:
    for block, key in ((APPLIED_DELTA, None), ("optimizer", None), ("surface", "symbolic_descent")):
        table = snapshot.get(block)
        if isinstance(table, Mapping) and key:
            table = table.get(key)
        value = table.get("learning_rate") if isinstance(table, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None
