"""stdlib/impact.rules: drift rules on the worst-case spend per run, through the drift review."""

from __future__ import annotations

import copy
import json

import pytest

from compiler.diff.review import review_snapshots


@pytest.fixture(scope="module")
def example(pair) -> dict:
    out = pair[0]
    head = json.loads((out / "policy.json").read_text())
    return json.loads((out / head["active"] / "snapshot.json").read_text())


def fired(old: dict, new: dict, **settings) -> dict[str, tuple[str, str]]:
    report = review_snapshots(old, new, settings=settings)
    return {f.rule_id: (f.severity.value, f.message) for f in report.findings if f.rule_id.startswith("DR_WORST")}


def edited(snapshot: dict, edit) -> dict:
    new = copy.deepcopy(snapshot)
    edit(new)
    return new


def test_a_moderate_raise_warns_with_old_and_new_figures(example):
    # plan 8000 → 13000 tokens on claude (15 per Mtok out): 0.27 → 0.09 + 0.195 + 0.06 = 0.345 (1.28x)
    new = edited(example, lambda s: s["budgets"]["tokens"].update(plan=13000))
    assert fired(example, new) == {"DR_WORST_CASE_SPEND_RAISED": (
        "WARN", "worst-case spend per run raised from 0.27 to 0.345 USD (more than 1.25x)")}
    assert fired(example, edited(example, lambda s: s["budgets"]["tokens"].update(plan=9000))) == {}   # 1.06x


def test_a_price_that_more_than_doubles_the_worst_case_blocks(example):
    # claude's output price 15 → 40: 18000 tokens × 40 / 10^6 = 0.72 (2.7x)
    new = edited(example, lambda s: s["model_config"]["claude-sonnet-4-20250514"].update(output_price_per_mtok=40.0))
    assert fired(example, new) == {"DR_WORST_CASE_SPEND_SPIKE": (
        "BLOCK", "worst-case spend per run raised from 0.27 to 0.72 USD (more than 2x)")}


def test_losing_every_bound_blocks(example):
    def unbound(s):
        s["budgets"]["cost"] = None
        del s["budgets"]["tokens"]["plan"]      # plan stays a stage (routing.stages) with no budget
    assert fired(example, edited(example, unbound)) == {"DR_WORST_CASE_SPEND_UNBOUNDED": (
        "BLOCK", "worst-case spend per run was 0.27 USD and is now unbounded")}


def test_the_factors_are_configurable(example):
    new = edited(example, lambda s: s["budgets"]["tokens"].update(plan=9500))   # 0.2925: 1.083x
    assert fired(example, new) == {}
    assert set(fired(example, new, ratios={"worst_case_warn": 1.05})) == {"DR_WORST_CASE_SPEND_RAISED"}
    assert set(fired(example, new, ratios={"worst_case_block": 1.05})) == {"DR_WORST_CASE_SPEND_SPIKE"}


def test_the_report_carries_both_sides_figures(example):
    new = edited(example, lambda s: s["budgets"]["tokens"].update(plan=13000))
    from compiler.diff.report_json import to_json

    budget = to_json(review_snapshots(example, new, settings={}))["impact"]["budget"]
    assert budget == {"currency": "USD",
                      "old": {"worst_case": "0.27", "expected": "0.267", "status": "bounded", "binding": "budgets.tokens"},
                      "new": {"worst_case": "0.345", "expected": "0.342", "status": "bounded",
                              "binding": "budgets.tokens"}}
