"""snap.gate(name).evaluate(metrics): the compiled gate from the snapshot's rules block."""

from __future__ import annotations

import threading

import pytest

from compiler.runtime import UnknownName, load_snapshot
from compiler.errors import PolcError
from tests.runtime.conftest import RICH_POLICY, build_project

GOOD = {"p95_latency_ms": 1800, "success_parity_percent": 91}


def test_a_passing_gate_and_recording_it_for_routing(out_dir):
    snap = load_snapshot(out_dir)
    result = snap.gate("reflex_promotion").evaluate(GOOD)
    assert result.passed and result.failures == ()
    promoted = snap.with_gate_results([result])
    assert promoted.route("judge")[0].source == "reflex"
    assert snap.route("judge", {"passed_gates": [result]})[0].source == "reflex"


def test_failing_conditions_carry_span_message_and_observed_values(out_dir):
    result = load_snapshot(out_dir).gate("reflex_promotion").evaluate(
        {"p95_latency_ms": 2500, "success_parity_percent": 80})
    assert not result.passed and len(result.failures) == 2
    latency = result.failures[0]
    assert latency.span.file.endswith("promotion.rules") and latency.span.line > 0
    assert "2500" in latency.message and "2000" in latency.message
    assert latency.observed["metrics.p95_latency_ms"] == 2500
    assert latency.observed["params.p95_latency_ms"] == 2000
    failed = load_snapshot(out_dir).with_gate_results([result])
    assert failed.route("judge")[0].source == "cloud"


@pytest.mark.parametrize("metrics, named", [({"success_parity_percent": 91}, "p95_latency_ms"),
                                             ({**GOOD, "p95_latency_ms": "fast"}, "p95_latency_ms"),
                                             ({**GOOD, "success_parity_percent": None}, "success_parity_percent")])
def test_missing_or_mistyped_metrics_fail_closed(out_dir, metrics, named):
    result = load_snapshot(out_dir).gate("reflex_promotion").evaluate(metrics)
    assert not result.passed
    assert any(named in f.message for f in result.failures)


def test_gate_parameters_come_from_model_policy(tmp_path):
    out = build_project(tmp_path / "strict", RICH_POLICY.replace("p95_latency_ms = 2000", "p95_latency_ms = 1500"))
    snap = load_snapshot(out)
    assert snap.gates["reflex_promotion"]["p95_latency_ms"] == 1500
    assert not snap.gate("reflex_promotion").evaluate(GOOD).passed


def test_unknown_gate(out_dir):
    with pytest.raises(UnknownName, match="unknown gate `reflex_promoton`") as info:
        load_snapshot(out_dir).gate("reflex_promoton")
    assert "did you mean `reflex_promotion`" in info.value.diagnostics[0].hint


def test_gate_without_rules_block_is_explained(out_dir, tmp_path):
    from compiler.runtime.snapshot import Snapshot

    data = load_snapshot(out_dir).to_dict()
    del data["rules"]
    bare = Snapshot.from_data(data, env={})
    with pytest.raises(PolcError, match="no rule defines its conditions") as info:
        bare.gate("reflex_promotion")
    assert info.value.diagnostics[0].code == "POLC722"


def test_gate_is_built_once_and_thread_safe(out_dir):
    snap = load_snapshot(out_dir)
    assert snap.gate("reflex_promotion") is snap.gate("reflex_promotion")
    outcomes = []

    def work(i):
        metrics = {"p95_latency_ms": 1000 + i * 100, "success_parity_percent": 90}
        outcomes.append((i, snap.gate("reflex_promotion").evaluate(metrics).passed))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [(i, 1000 + i * 100 <= 2000) for i in range(20)]
