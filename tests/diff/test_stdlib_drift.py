"""Each stdlib drift rule through `polc diff`: a pair of policies that triggers it and one that does not.

The pairs are mutations of one compiled policy (spec 001's example plus spec 000's surface),
so each case changes only what the rule is about. Rules are the ones the NEW snapshot carries.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from compiler.diff import rule_source
from compiler.diff.inputs import Side, compile_project
from compiler.diff.model import SideInfo
from compiler.diff.review import review
from tests.conftest import make_project

from .helpers import EXAMPLE_POLICY

SURFACE = """\
surface_version: policy_surface@v1
feature_space:
  - {name: atoms, transform: log1p, bounds: [1, 64]}
reward_signals:
  abstention_mass: {weight: -0.8, window: 32}
  throughput: {weight: 0.3, window: 16}
symbolic_descent:
  enabled: true
  operator: concat(policy_gradient, abstention_gradient)
curvature_controls:
  max_gradient_norm: 0.5
  damping_factor: 0.2
deployment_constraints:
  safe_modes:
    - {name: deterministic_eval, description: "no stochastic tie-breakers", toggle_env: POLICY_SAFE_MODE=1}
    - {name: shadow, description: "score only", toggle_env: POLICY_SHADOW_MODE=1}
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    root = make_project(tmp_path_factory.mktemp("stdlib") / "p", EXAMPLE_POLICY,
                        project_extra='surface = "policy.surface.yaml"\n')
    (root / "policy.surface.yaml").write_text(SURFACE, encoding="utf-8")
    side = compile_project(root, SideInfo("base", "source"), root)
    assert side.compiled, side.diagnostics
    return side.snapshot


def set_path(snap: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = snap
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


DELETE = object()


def fired(base: dict, old_edits: dict, new_edits: dict, tmp_path: Path) -> list[str]:
    old, new = copy.deepcopy(base), copy.deepcopy(base)
    for snap, edits in ((old, old_edits), (new, new_edits)):
        for path, value in edits.items():
            set_path(snap, path, value)
    report = review(Side(SideInfo("old", "snapshot"), old), Side(SideInfo("new", "snapshot"), new), cwd=tmp_path)
    errors = [f for f in report.findings if f.rule_id in ("POLC401", "POLC402") or f.diagnostics]
    assert not errors, errors
    return [f.rule_id for f in report.findings]


LR = {"optimizer.learning_rate": 0.01}
CASES = {
    # rule: (old edits, NEW edits that trigger it, NEW edits that do not)
    "DR_LEARNING_RATE_SPIKE": (LR, {"optimizer.learning_rate": 0.03}, {"optimizer.learning_rate": 0.015}),
    "DR_CLIPPING_REMOVED": ({}, {"surface.curvature_controls.max_gradient_norm": DELETE},
                            {"surface.curvature_controls.max_gradient_norm": 0.4}),
    "DR_CLIPPING_LOOSENED": ({}, {"surface.curvature_controls.max_gradient_norm": 1.0},
                             {"surface.curvature_controls.max_gradient_norm": 0.3}),
    "DR_ABSTENTION_DISABLED": ({}, {"surface.reward_signals.abstention_mass.weight": 0.0},
                               {"surface.reward_signals.abstention_mass.weight": -0.5}),
    "DR_SAFE_MODE_REMOVED": ({}, {"surface.deployment_constraints.safe_modes": [
                                 {"name": "shadow", "description": "score only", "toggle_env": "POLICY_SHADOW_MODE=1"}]},
                             {"surface.deployment_constraints.safe_modes": [
                                 {"name": "deterministic_eval", "description": "d", "toggle_env": "POLICY_SAFE_MODE=1"},
                                 {"name": "shadow", "description": "s", "toggle_env": "POLICY_SHADOW_MODE=1"},
                                 {"name": "canary", "description": "c", "toggle_env": "POLICY_CANARY=1"}]}),
    "DR_SURFACE_VERSION_NOT_BUMPED": ({}, {"surface.curvature_controls.damping_factor": 0.1},
                                      {"surface.curvature_controls.damping_factor": 0.1,
                                       "surface.surface_version": "policy_surface@v2"}),
    "DR_PROMOTION_LATENCY_RAISED": ({}, {"gates.reflex_promotion.p95_latency_ms": 2500},
                                    {"gates.reflex_promotion.p95_latency_ms": 1500}),
    "DR_PROMOTION_PARITY_LOWERED": ({}, {"gates.reflex_promotion.success_parity_percent": 80},
                                    {"gates.reflex_promotion.success_parity_percent": 90}),
    "DR_GATE_REMOVED": ({}, {"gates.local_memory_sunset": DELETE}, {"gates.canary": {"p95_latency_ms": 100}}),
    "DR_COST_HARD_LIMIT_RAISED": ({}, {"budgets.cost.hard_limit": 60.0}, {"budgets.cost.hard_limit": 40.0}),
    "DR_COST_LIMIT_REMOVED": ({}, {"budgets.cost": None}, {"budgets.cost.hard_limit": 20.0}),
    "DR_TOKEN_BUDGET_RAISED": ({}, {"budgets.tokens.plan": 20000}, {"budgets.tokens.plan": 12000}),
    "DR_CAPTURE_WIDENED": ({}, {"capture.mode": "full_io"}, {"capture.mode": "none"}),
    "DR_EMBEDDINGS_ENABLED": ({"capture.store_embeddings": False}, {"capture.store_embeddings": True},
                              {"capture.store_embeddings": False}),
    "DR_ROUTING_MODEL_ADDED": ({}, {"routing.cloud.judge": ["claude-sonnet-4-20250514", "gpt-4o"]},
                               {"routing.cloud.architect": ["gpt-4o", "claude-sonnet-4-20250514"]}),
    "DR_ROUTING_MODEL_REMOVED": ({}, {"routing.cloud.architect": ["claude-sonnet-4-20250514"]},
                                 {"routing.cloud.architect": ["gpt-4o", "claude-sonnet-4-20250514"]}),
    "DR_REFLEX_ENABLED": ({}, {"routing.reflex.enabled": True}, {"routing.reflex.model": "qwen2.5-coder-14b"}),
    "DR_REFLEX_ENDPOINT_CHANGED": ({}, {"routing.reflex.endpoint": "http://10.0.0.7:3009/v1"},
                                   {"routing.reflex.model": "qwen2.5-coder-14b"}),
}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_triggers_on_its_pair_and_not_on_the_other(base, tmp_path, rule_id):
    old_edits, triggering, harmless = CASES[rule_id]
    old_edits = {**(LR if rule_id == "DR_LEARNING_RATE_SPIKE" else {}), **old_edits}
    new_base = dict(old_edits)
    assert rule_id in fired(base, old_edits, {**new_base, **triggering}, tmp_path)
    assert rule_id not in fired(base, old_edits, {**new_base, **harmless}, tmp_path)


def test_every_drift_rule_of_the_snapshot_is_covered_or_evaluates_cleanly(base, tmp_path):
    rules = set(base["rules"]["drift"])
    assert set(CASES) <= rules  # the list is shipped
    assert fired(base, {}, {}, tmp_path) == []  # no rule fires (or errors) on an unchanged policy


def test_abstention_operator_change_also_triggers(base, tmp_path):
    assert "DR_ABSTENTION_DISABLED" in fired(base, {}, {"surface.symbolic_descent.operator": "policy_gradient"}, tmp_path)


def test_configured_ratio_changes_the_threshold(base):
    old, new = copy.deepcopy(base), copy.deepcopy(base)
    new["budgets"]["tokens"]["plan"] = 20000  # 2.5x
    default, _ = rule_source.load(old, new, {}, {})
    relaxed, _ = rule_source.load(old, new, {}, {"ratios": {"token_raise": 3.0}})
    from compiler.diff.drift import evaluate_drift

    assert "DR_TOKEN_BUDGET_RAISED" in [f.rule_id for f in evaluate_drift(old, new, default)]
    assert "DR_TOKEN_BUDGET_RAISED" not in [f.rule_id for f in evaluate_drift(old, new, relaxed)]


def test_findings_point_at_the_change_that_made_them_fire(base, tmp_path):
    from tests.conftest import make_project as mk

    old_root = mk(tmp_path / "old", EXAMPLE_POLICY)
    new_root = mk(tmp_path / "new", EXAMPLE_POLICY.replace("p95_latency_ms = 2000", "p95_latency_ms = 2600"))
    from compiler.diff.review import review_args

    report = review_args(str(old_root), str(new_root), cwd=tmp_path)
    (finding,) = [f for f in report.findings if f.rule_id == "DR_PROMOTION_LATENCY_RAISED"]
    assert (finding.subject, str(finding.span)) == (("gates", "reflex_promotion", "p95_latency_ms"),
                                                    "new/model_policy.toml:25:18")
    assert str(finding.rule_span).startswith("stdlib/drift.rules:")


def test_a_rule_removed_in_new_still_runs_and_its_removal_is_a_finding(base, tmp_path):
    old, new = copy.deepcopy(base), copy.deepcopy(base)
    del new["rules"]["drift"]["DR_CAPTURE_WIDENED"]
    new["capture"]["mode"] = "full_io"
    report = review(Side(SideInfo("old", "snapshot"), old), Side(SideInfo("new", "snapshot"), new), cwd=tmp_path)
    ids = {f.rule_id: f for f in report.findings}
    assert "DR_CAPTURE_WIDENED" in ids and ids["POLC403"].severity.value == "WARN"
    assert "DR_CAPTURE_WIDENED" in ids["POLC403"].message


def test_a_rule_that_errors_is_a_finding_naming_it_never_a_pass(base, tmp_path):
    from compiler.rules.check import check_rules
    from compiler.rules.loader import load_rules_from_texts
    from compiler.rules.lower import lower_rules_block

    old, new = copy.deepcopy(base), copy.deepcopy(base)
    rules = load_rules_from_texts({"rules/x.rules": "drift DR_CUSTOM_BROKEN BLOCK {\n"
                                                    "  when new.gates.no_such_gate.limit > 1\n}\n"})
    new["rules"] = lower_rules_block(check_rules(rules, {}, include_gates=False))
    report = review(Side(SideInfo("old", "snapshot"), old), Side(SideInfo("new", "snapshot"), new), cwd=tmp_path)
    (finding,) = [f for f in report.findings if f.rule_id == "DR_CUSTOM_BROKEN"]
    assert finding.severity.value == "BLOCK" and "could not be evaluated" in finding.message
    assert "no_such_gate" in finding.message and finding.diagnostics[0].span.line == 2
    assert finding.rule_span is not None and finding.diagnostics
    assert report.status == "BLOCK"


def test_a_rule_whose_ir_is_damaged_is_a_finding_never_a_pass(base, tmp_path):
    old, new = copy.deepcopy(base), copy.deepcopy(base)
    entry = copy.deepcopy(new["rules"]["drift"]["DR_CAPTURE_WIDENED"])
    entry["when"]["node"][0] = "exec"  # not a node kind: refused when read, before any code exists
    new["rules"]["drift"]["DR_CUSTOM_BROKEN"] = entry
    report = review(Side(SideInfo("old", "snapshot"), old), Side(SideInfo("new", "snapshot"), new), cwd=tmp_path)
    (finding,) = [f for f in report.findings if f.rule_id == "DR_CUSTOM_BROKEN"]
    assert finding.severity.value == "BLOCK" and "could not be evaluated" in finding.message
    assert "unknown IR node `exec`" in finding.message and finding.diagnostics[0].code == "POLC271"
    assert report.status == "BLOCK"


def test_review_snapshots_api_for_tools(base):
    from compiler.diff.review import review_snapshots

    new = copy.deepcopy(base)
    new["capture"]["mode"] = "full_io"
    assert review_snapshots(base, new).status == "BLOCK"
    relaxed = review_snapshots(base, new, settings={"severity": {"DR_CAPTURE_WIDENED": "WARN"}})
    assert relaxed.status == "WARN"
    assert review_snapshots(base, copy.deepcopy(base)).status == "OK"
