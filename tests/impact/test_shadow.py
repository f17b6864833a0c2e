"""Shadow evaluation: the candidate answers beside the live policy, is recorded, never returned."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.errors import UsageError
from compiler.runtime.errors import BudgetExceeded
from compiler.runtime.events import read_jsonl
from compiler.runtime.records import decode_key
from compiler.runtime.snapshot import Snapshot


@pytest.fixture(scope="module")
def router(snapshots):
    old, new = snapshots
    return old.with_shadow(new)


@settings(max_examples=200, deadline=None)
@given(role=st.sampled_from(["architect", "implementer", "judge"]), key=st.one_of(st.none(), st.text(max_size=20),
       st.integers(), st.binary(max_size=8)), passed=st.booleans())
def test_the_live_answer_is_returned_unchanged(snapshots, router, role, key, passed):
    live, _ = snapshots
    context = {"passed_gates": ["reflex_promotion"]} if passed else None
    assert router.route(role, context, key=key) is live.route(role, context, key=key)


def _models(route):
    return [c.model for c in route]


@settings(max_examples=100, deadline=None)
@given(calls=st.lists(st.tuples(st.sampled_from(["architect", "implementer", "judge"]),
                                st.one_of(st.none(), st.text(max_size=8), st.integers(), st.binary(max_size=4))),
                      max_size=30))
def test_each_disagreement_is_one_the_two_snapshots_give_when_asked_apart(snapshots, calls):
    """The router asks both policies in one step (one hash of a key for both splits); what it
    records must be what asking each snapshot on its own gives."""
    live, candidate = snapshots
    seen = []
    router = live.with_shadow(candidate, sink=seen.append)
    for role, key in calls:
        router.route(role, key=key)
    expected = [(role, key) for role, key in calls
                if _models(live.route(role, key=key)) != _models(candidate.route(role, key=key))]
    assert [(r["role"], decode_key(r.get("key"))) for r in seen] == expected
    assert all(r["live"]["models"] == _models(live.route(r["role"], key=k)) and
               r["candidate"]["models"] == _models(candidate.route(r["role"], key=k))
               for r, (_, k) in zip(seen, expected))
    assert router.shadow_metrics()["disagreements"] == len(expected)


def test_an_unkeyed_route_the_candidate_orders_otherwise_disagrees_every_time(snapshots):
    live, candidate = snapshots
    data = candidate.to_dict()
    data["routing"]["cloud"]["architect"] = list(reversed(data["routing"]["cloud"]["architect"]))
    other = Snapshot.from_data(data, env={})
    seen = []
    router = live.with_shadow(other, sink=seen.append)
    assert all(router.route("architect") is live.route("architect") for _ in range(3))
    assert [r["candidate"]["models"] for r in seen] == [_models(other.route("architect"))] * 3
    assert router.route("implementer") is live.route("implementer") and len(seen) == 3   # this one agrees


def test_disagreements_go_to_the_run_log_with_both_answers(snapshots, tmp_path, no_fsync):
    live, candidate = snapshots
    keys = [f"user-{i}" for i in range(200)]
    differ = [k for k in keys if [c.model for c in live.route("implementer", key=k)] !=
              [c.model for c in candidate.route("implementer", key=k)]]
    assert 20 < len(differ) < 200
    with live.with_shadow(candidate).start_run("r1", tmp_path, follow=None) as run:
        answers = [run.route("implementer", key=k)[0].model for k in keys]
        run.route("architect")
    assert answers == [live.route("implementer", key=k)[0].model for k in keys]
    records = read_jsonl(run.dir / "REPLAY.jsonl").records
    disagreements = [r for r in records if r["type"] == "ShadowDisagreement"]
    assert [r["key"] for r in disagreements] == differ
    first = disagreements[0]
    assert first["kind"] == "route" and first["role"] == "implementer"
    assert first["policy_hash"] == live.hash and first["candidate_policy_hash"] == candidate.hash
    assert first["live"]["models"] == [c.model for c in live.route("implementer", key=first["key"])]
    assert first["candidate"]["models"] == [c.model for c in candidate.route("implementer", key=first["key"])]
    (summary,) = [r for r in records if r["type"] == "ShadowSummary"]
    assert summary["by_kind"]["route"] == {"decisions": 201, "disagreements": len(differ)}
    events = read_jsonl(run.dir / "events.jsonl").records
    assert [e for e in events if e["type"] == "ShadowCandidateRef"][0]["candidate_policy_hash"] == candidate.hash
    # the live policy governs the run: its receipt and every route record name it
    assert json.loads((run.dir / "RECEIPT.json").read_text())["policy_bundle_id"] == live.hash
    assert {r["policy_hash"] for r in records if r["type"] == "RouteDecision"} == {live.hash}


def test_gate_and_budget_disagreements(snapshots, tmp_path, no_fsync):
    live, candidate = snapshots
    strict = copy.deepcopy(candidate.to_dict())
    strict["budgets"]["cost"]["hard_limit"] = 0.05
    tight = Snapshot.from_data(strict, env={})
    metrics = {"p95_latency_ms": 1800, "success_parity_percent": 90}   # 1800 ms: live PASS, candidate FAIL
    seen = []
    router = live.with_shadow(tight, sink=seen.append)
    assert router.gate("reflex_promotion").evaluate(metrics).passed is True
    tracker = router.budget_tracker()
    tracker.charge("plan", tokens=100, cost=0.04)
    tracker.charge("plan", tokens=100, cost=0.03)      # live: 0.07 of 25; the candidate would refuse
    assert tracker.cost_spent == pytest.approx(0.07)
    gate, budget = seen
    assert gate["kind"] == "gate" and gate["live"] == {"passed": True, "failed": []}
    assert gate["candidate"]["passed"] is False and gate["metrics"] == metrics
    assert gate["candidate"]["failed"] == ["metrics.p95_latency_ms <= params.p95_latency_ms"]
    assert budget["kind"] == "budget" and (budget["stage"], budget["cost"]) == ("plan", "0.03")
    assert budget["live"] == {"accepted": True} and budget["candidate"] == {"accepted": False, "refused": "cost"}
    with pytest.raises(BudgetExceeded):                # the live limit still holds, whatever the candidate says
        tracker.charge("plan", tokens=10, cost=25)


def test_a_failing_candidate_never_reaches_the_caller(snapshots):
    live, candidate = snapshots
    broken = candidate.to_dict()
    del broken["routing"]["cloud"]["judge"]
    seen = []
    router = live.with_shadow(Snapshot.from_data(broken, env={}), sink=seen.append)
    assert router.route("judge") is live.route("judge")
    assert "unknown role `judge`" in seen[-1]["candidate"]["error"]
    assert router.gate("prompt_quality").evaluate(scorecard={"exact_match": 0.9, "judge_pass_rate": 0.95}).passed
    with pytest.raises(LookupError):                   # the live policy's own errors are the caller's, as before
        router.route("nobody")


def test_the_disagreement_rate_is_what_the_promotion_gate_reads(snapshots):
    live, candidate = snapshots
    router = live.with_shadow(candidate, window=100)
    for i in range(300):
        router.route("implementer", key=f"k{i}")
    metrics = router.shadow_metrics()
    recent = sum(router.live.route("implementer", key=f"k{i}")[0].model !=
                 router.candidate.route("implementer", key=f"k{i}")[0].model for i in range(200, 300))
    assert metrics["decisions"] == 100.0 and metrics["disagreement_rate"] == recent / 100
    assert metrics["by_kind"]["route"]["decisions"] == 300.0
    data = live.to_dict()
    data["gates"]["shadow_promotion"] = {"max_disagreement_rate": 0.05, "min_decisions": 100}
    from compiler.rules.drift import load_drift_rules  # noqa: F401  (the stdlib is installed)
    from compiler.rules.loader import load_rules
    from compiler.rules.check import check_rules
    from compiler.rules.lower import lower_rules_block
    from compiler.paths import STDLIB_DIR

    checked = check_rules(load_rules(STDLIB_DIR.parent, []), data["gates"])
    data["rules"] = lower_rules_block(checked)
    gate = Snapshot.from_data(data, env={}).gate("shadow_promotion")
    result = gate.evaluate(metrics)
    assert result.passed is (metrics["disagreement_rate"] <= 0.05)
    assert not result.passed   # a 50% canary disagrees far more than 5% of the time
    assert "disagrees with the live policy on" in result.failures[0].message
    assert gate.evaluate({"disagreement_rate": 0.01, "decisions": 500.0}).passed


def test_bad_arguments_are_usage_errors(snapshots):
    live, candidate = snapshots
    with pytest.raises(UsageError) as bad:
        live.with_shadow(candidate.to_dict())
    assert bad.value.diagnostics[0].code == "POLC765"
    with pytest.raises(UsageError) as window:
        live.with_shadow(candidate, window=0)
    assert window.value.diagnostics[0].code == "POLC766"


def test_replay_reports_what_shadowed_runs_recorded(snapshots, tmp_path, no_fsync):
    from compiler.impact.replay import replay
    from compiler.impact.replay_report import to_json

    live, candidate = snapshots
    for n in range(2):
        with live.with_shadow(candidate).start_run(f"s{n}", tmp_path, follow=None) as run:
            for i in range(50):
                run.route("implementer", key=f"{n}-{i}")
    (shadow,) = to_json(replay(live, candidate, [str(tmp_path)]), "USD")["shadow"]
    assert shadow["candidate_policy_hash"] == candidate.hash and shadow["decisions"] == 100
    assert 0 < shadow["disagreement_rate"] < 1
