"""The drift part of a ledger row: this build against the ledger's previous policy."""

from __future__ import annotations

import json

from compiler import build
from compiler.diff.ledger_status import drift_since_previous, learning_rate_spread, previous_hash
from tests.conftest import make_project

from .helpers import EXAMPLE_POLICY, edit


def test_drift_status_against_the_previous_row(tmp_path):
    out = tmp_path / "out"
    first = build(make_project(tmp_path / "a", EXAMPLE_POLICY), out_dir=str(out))
    assert first.ok
    assert drift_since_previous(out, first.snapshot)["against"] is None
    wider = build(make_project(tmp_path / "b", edit(EXAMPLE_POLICY, ('mode = "prompts_only"', 'mode = "full_io"'))),
                  out_dir=str(out))
    assert wider.ok
    if not (out / "policy_hash_ledger.jsonl").exists():  # builds record rows once the ledger is wired in
        (out / "policy_hash_ledger.jsonl").write_text(
            "".join(json.dumps({"event": "build", "hash": r.hash}) + "\n" for r in (first, wider)))
    assert previous_hash(out, wider.hash) == first.hash
    details = drift_since_previous(out, wider.snapshot)
    assert details["against"] == first.hash and details["drift_status"] == "BLOCK"
    assert [f["rule_id"] for f in details["drift_findings"]] == ["DR_CAPTURE_WIDENED"]
    relaxed = drift_since_previous(out, wider.snapshot, {"severity": {"DR_CAPTURE_WIDENED": "WARN"}})
    assert relaxed["drift_status"] == "WARN"


def test_learning_rate_spread():
    assert learning_rate_spread({}, {}) is None
    assert learning_rate_spread({}, {"surface": {"symbolic_descent": {"learning_rate": 0.1}}}) == \
        {"old": None, "new": 0.1, "ratio": None}
