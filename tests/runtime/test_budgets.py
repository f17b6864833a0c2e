"""Budget tracker: refusals before the fact, one warning, exact decimals, no over-spend under threads."""

from __future__ import annotations

import threading

import pytest

from compiler.runtime import BudgetExceeded, BudgetUsageError, UnknownName, load_snapshot
from compiler.runtime.budgets import BudgetTracker


@pytest.fixture
def tracker(out_dir):
    return load_snapshot(out_dir).budget_tracker(run_id="r1")


def test_token_budget_per_stage_is_refused_before_it_is_spent(tracker):
    tracker.charge("plan", tokens=7000)
    with pytest.raises(BudgetExceeded) as info:
        tracker.charge("plan", tokens=1001)
    assert info.value.kind == "tokens" and info.value.limit == 8000 and info.value.spent == 7000
    assert tracker.tokens_used("plan") == 7000  # nothing of the refused operation was recorded
    tracker.charge("plan", tokens=1000)  # reaching the budget exactly is allowed
    assert tracker.remaining_tokens("plan") == 0
    refused = [e for e in tracker.events if e["type"] == "BudgetRefused"]
    assert len(refused) == 1 and refused[0]["stage"] == "plan" and refused[0]["run_id"] == "r1"


def test_cost_warning_once_then_hard_limit(tracker):
    tracker.charge("plan", cost=4.0)
    assert tracker.events == ()
    tracker.charge("plan", cost=1.0)  # reaches warn_threshold 5.0
    tracker.charge("plan", cost=1.0)
    warnings = [e for e in tracker.events if e["type"] == "BudgetWarning"]
    assert len(warnings) == 1 and warnings[0]["spent"] == 5.0
    with pytest.raises(BudgetExceeded, match="hard limit of 25"):
        tracker.charge("tasks", cost=19.5)
    assert tracker.cost_spent == 6.0
    tracker.charge("tasks", cost=19.0)
    assert tracker.remaining_cost == 0.0


def test_decimal_accounting_never_drifts(out_dir):
    tracker = BudgetTracker(tokens={}, cost={"warn_threshold": None, "hard_limit": 1.0})
    for _ in range(10):
        tracker.charge(cost=0.1)
    assert tracker.cost_spent == 1.0 and tracker.remaining_cost == 0.0  # 0.1 * 10 in floats is 0.9999...


@pytest.mark.parametrize("kwargs", [{"tokens": -1}, {"tokens": 1.5}, {"tokens": True}, {"cost": -0.01},
                                    {"cost": float("nan")}, {"cost": float("inf")}, {"cost": "3"}])
def test_bad_amounts_are_refused(tracker, kwargs):
    with pytest.raises(BudgetUsageError) as info:
        tracker.charge("plan", **kwargs)
    assert info.value.diagnostics[0].code == "POLC731"
    assert tracker.tokens_used("plan") == 0 and tracker.cost_spent == 0


def test_unknown_stage_is_named(tracker):
    with pytest.raises(UnknownName, match="implment") as info:
        tracker.charge("implment", tokens=1)
    assert "did you mean `implement`" in info.value.diagnostics[0].hint


def test_reservation_settles_to_actual_use(tracker):
    reservation = tracker.reserve("implement", tokens=5000, cost=2.0)
    assert tracker.tokens_used("implement") == 5000
    reservation.settle(tokens=1200, cost=0.5)
    assert tracker.tokens_used("implement") == 1200 and tracker.cost_spent == 0.5
    with pytest.raises(BudgetExceeded):
        tracker.reserve("implement", tokens=5000)
    over = tracker.reserve("implement", tokens=4000)
    over.settle(tokens=5000)  # it happened: recorded, and reported as an overrun
    assert tracker.tokens_used("implement") == 6200
    assert [e["type"] for e in tracker.events][-1] == "BudgetOverrun"
    with pytest.raises(BudgetUsageError):
        over.settle(tokens=1)


def test_threads_never_over_spend(out_dir):
    snap = load_snapshot(out_dir)
    for _round in range(3):
        tracker = snap.budget_tracker("threads")
        accepted, refused = [], []
        barrier = threading.Barrier(16)

        def work():
            barrier.wait()
            for _ in range(200):
                try:
                    tracker.charge("implement", tokens=7, cost=0.03)
                    accepted.append(1)
                except BudgetExceeded:
                    refused.append(1)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert tracker.tokens_used("implement") == 7 * len(accepted) <= 6000
        assert len(accepted) == min(6000 // 7, int(25 / 0.03))  # used up to the last whole operation
        assert tracker.cost_spent <= 25.0
        assert len([e for e in tracker.events if e["type"] == "BudgetWarning"]) == 1
        assert len([e for e in tracker.events if e["type"] == "BudgetRefused"]) == len(refused)


def test_policy_without_cost_block():
    tracker = BudgetTracker(tokens={"plan": 10}, cost=None)
    tracker.charge("plan", tokens=10, cost=1e9)
    assert tracker.remaining_cost is None


def test_try_charge_decides_and_records_exactly_as_charge(out_dir):
    """``try_charge`` (what a replay uses) is ``charge`` with False for a refusal: same verdicts,
    same totals, same events, same observer calls, over token and cost refusals and the warning."""
    snap = load_snapshot(out_dir)
    steps = [("plan", 7000, 4.0), ("plan", 1001, 0), ("plan", 1000, 1.5), ("tasks", 10, 19.0),
             ("tasks", 10, 0.6), ("implement", 0, 0.4), (None, 5, 0.1), ("plan", 1, 0)]
    seen: dict[str, list] = {"charge": [], "try_charge": []}
    trackers = {name: snap.budget_tracker(run_id="r1", observer=lambda *call, name=name: seen[name].append(call))
                for name in seen}
    verdicts: dict[str, list] = {name: [] for name in seen}
    for stage, tokens, cost in steps:
        try:
            trackers["charge"].charge(stage, tokens=tokens, cost=cost)
            verdicts["charge"].append(True)
        except BudgetExceeded:
            verdicts["charge"].append(False)
        verdicts["try_charge"].append(trackers["try_charge"].try_charge(stage, tokens=tokens, cost=cost))
    assert verdicts["charge"] == verdicts["try_charge"] == [True, False, True, True, False, True, True, False]
    assert seen["charge"] == seen["try_charge"]
    a, b = trackers.values()
    assert (a.spent, a.tokens_by_stage(), a.events) == (b.spent, b.tokens_by_stage(), b.events)
    assert {e["type"] for e in a.events} == {"BudgetWarning", "BudgetRefused"}
    with pytest.raises(UnknownName):   # bad input is still an error, not a refusal
        b.try_charge("nope", tokens=1)
