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


def test_a_learning_rate_spike_across_deltas_blocks_the_ledger_snapshot(tmp_path):
    import numpy as np

    from tests.conftest import example_project, run_polc

    root = example_project(tmp_path / "example", weights=np.linspace(-1, 1, 8))
    assert run_polc("build", cwd=root).returncode == 0
    head = str(root / "artifacts" / "policy" / "policy.json")
    with open(tmp_path / "delta.npy", "wb") as fh:
        np.save(fh, np.full(8, 0.01), allow_pickle=False)
    for cycle, lr in enumerate(("0.05", "5.0")):
        applied = run_polc("delta", "apply", head, str(tmp_path / "delta.npy"), "--lr", lr, "--cycle", str(cycle),
                           "--slice", "goal", cwd=root)
        assert applied.returncode == 0, applied.stderr
    snap = run_polc("ledger", "snapshot", "--notes", "after two deltas", "--format", "json", cwd=root)
    assert snap.returncode == 1, snap.stdout + snap.stderr  # BLOCK
    row = json.loads(snap.stdout)["details"]
    assert row["drift_status"] == "BLOCK"
    assert [f["rule_id"] for f in row["drift_findings"]] == ["DR_LEARNING_RATE_SPIKE"]
    assert row["learning_rate_spread"] == {"old": 0.05, "new": 5.0, "ratio": 100.0}


def test_a_tightened_promotion_threshold_is_an_info_finding(tmp_path):
    from tests.conftest import example_project, run_polc

    root = example_project(tmp_path / "example")
    assert run_polc("build", cwd=root).returncode == 0
    policy = root / "examples" / "model_policy.toml"
    policy.write_text(policy.read_text().replace("p95_latency_ms = 2000", "p95_latency_ms = 1500"))
    assert run_polc("build", cwd=root).returncode == 0
    snap = run_polc("ledger", "snapshot", "--notes", "stricter gate", "--format", "json", cwd=root)
    assert snap.returncode == 0, snap.stdout + snap.stderr
    row = json.loads(snap.stdout)["details"]
    assert row["drift_status"] == "OK"
    assert [(f["rule_id"], f["severity"]) for f in row["drift_findings"]] == [("DR_PROMOTION_LATENCY_LOWERED", "INFO")]
