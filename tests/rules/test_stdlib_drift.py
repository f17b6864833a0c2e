"""Each stdlib drift rule: a change that triggers it and a similar one that does not."""

from __future__ import annotations

import copy

import pytest

from compiler.rules.drift import Severity, evaluate_drift, load_drift_rules
from tests.rules.helpers import base_snapshot


@pytest.fixture(scope="module")
def rules():
    loaded, problems = load_drift_rules({}, {})
    assert [p for p in problems if p.is_error] == []
    return [r for r in loaded if r.file == "stdlib/drift.rules"]  # other stdlib files test themselves


def _set(path, value):
    def mutate(snap):
        *parents, last = path
        node = snap
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


def _delete(path):
    def mutate(snap):
        *parents, last = path
        node = snap
        for key in parents:
            node = node[key]
        del node[last]
    return mutate


def _both(*mutators):
    def mutate(snap):
        for m in mutators:
            m(snap)
    return mutate


SD, CC, RS = ("surface", "symbolic_descent"), ("surface", "curvature_controls"), ("surface", "reward_signals")
CASES = {
    "DR_LEARNING_RATE_SPIKE": (_set(SD + ("learning_rate",), 0.2), _set(SD + ("learning_rate",), 0.09),
                               "learning rate spiked from 0.05 to 0.2 (more than 2x)"),
    "DR_CLIPPING_REMOVED": (_set(CC + ("max_gradient_norm",), None), _set(CC + ("max_gradient_norm",), 0.4),
                            "gradient clipping removed (max_gradient_norm was 0.5)"),
    "DR_CLIPPING_LOOSENED": (_set(CC + ("max_gradient_norm",), 0.9), _set(CC + ("max_gradient_norm",), 0.3),
                             "gradient clipping loosened: max_gradient_norm 0.5 -> 0.9"),
    "DR_ABSTENTION_DISABLED": (_delete(RS + ("abstention_mass",)), _set(RS + ("abstention_mass", "weight"), -0.5),
                               None),
    "DR_SAFE_MODE_REMOVED": (_set(("surface", "deployment_constraints", "safe_modes"), []),
                             _set(("surface", "deployment_constraints", "safe_modes", 0, "description"), "x"),
                             'safe mode(s) removed: ["deterministic_eval", "shadow"]'),
    "DR_SURFACE_VERSION_NOT_BUMPED": (
        _set(("surface", "feature_space"), []),
        _both(_set(("surface", "feature_space"), []), _set(("surface", "surface_version"), "policy_surface@v2")),
        "the learning surface changed but surface_version is still policy_surface@v1; bump it"),
    "DR_PROMOTION_LATENCY_RAISED": (_set(("gates", "reflex_promotion", "p95_latency_ms"), 2500),
                                    _set(("gates", "reflex_promotion", "p95_latency_ms"), 1500),
                                    "reflex promotion latency limit raised from 2000 to 2500 ms"),
    "DR_PROMOTION_PARITY_LOWERED": (_set(("gates", "reflex_promotion", "success_parity_percent"), 80),
                                    _set(("gates", "reflex_promotion", "success_parity_percent"), 90),
                                    "reflex promotion parity lowered from 85% to 80%"),
    "DR_PROMOTION_LATENCY_LOWERED": (_set(("gates", "reflex_promotion", "p95_latency_ms"), 1500),
                                     _set(("gates", "reflex_promotion", "p95_latency_ms"), 2500),
                                     "reflex promotion latency limit tightened from 2000 to 1500 ms"),
    "DR_PROMOTION_PARITY_RAISED": (_set(("gates", "reflex_promotion", "success_parity_percent"), 90),
                                   _set(("gates", "reflex_promotion", "success_parity_percent"), 80),
                                   "reflex promotion parity tightened from 85% to 90%"),
    "DR_GATE_REMOVED": (_delete(("gates", "local_memory_sunset")),
                        _set(("gates", "local_memory_sunset", "stability_days"), 31),
                        'gate(s) removed: ["local_memory_sunset"]'),
    "DR_COST_HARD_LIMIT_RAISED": (_set(("budgets", "cost", "hard_limit"), 60), _set(("budgets", "cost", "hard_limit"), 49),
                                  "cost hard limit raised from 25 to 60 USD (more than 2x)"),
    "DR_COST_LIMIT_REMOVED": (_set(("budgets", "cost"), None), _set(("budgets", "cost", "hard_limit"), 20),
                              "cost limits removed (hard limit was 25 USD)"),
    "DR_TOKEN_BUDGET_RAISED": (_set(("budgets", "tokens", "plan"), 20000), _set(("budgets", "tokens", "plan"), 16000),
                               'token budget raised more than 2x for stage(s) ["plan"]'),
    "DR_CAPTURE_WIDENED": (_set(("capture", "mode"), "full_io"), _set(("capture", "mode"), "none"),
                           "capture mode widened from prompts_only to full_io"),
    "DR_EMBEDDINGS_ENABLED": (None, None, "capture.store_embeddings turned on"),
    "DR_ROUTING_MODEL_ADDED": (_set(("routing", "cloud", "judge"), ["claude-sonnet-4-20250514", "gpt-4o"]),
                               _set(("routing", "cloud", "architect"), ["gpt-4o", "claude-sonnet-4-20250514"]),
                               'model(s) added to role(s) ["judge"]'),
    "DR_ROUTING_MODEL_REMOVED": (_set(("routing", "cloud", "architect"), ["gpt-4o"]),
                                 _set(("routing", "cloud", "architect"), ["gpt-4o", "claude-sonnet-4-20250514"]),
                                 'model(s) removed from role(s) ["architect"]'),
    "DR_REFLEX_ENABLED": (_set(("routing", "reflex", "enabled"), True), _set(("routing", "reflex", "model"), "other"),
                          "reflex routing enabled: qwen2.5-coder-7b-instruct at http://127.0.0.1:3009/v1"),
    "DR_REFLEX_ENDPOINT_CHANGED": (_set(("routing", "reflex", "endpoint"), "http://10.0.0.2:3009/v1"),
                                   _set(("routing", "reflex", "model"), "other"),
                                   "reflex endpoint changed from http://127.0.0.1:3009/v1 to http://10.0.0.2:3009/v1"),
}


def test_every_stdlib_rule_has_a_case(rules):
    assert sorted(r.rule_id for r in rules) == sorted(CASES)


def test_identical_snapshots_have_no_findings(rules):
    assert evaluate_drift(base_snapshot(), base_snapshot(), rules) == []
    assert evaluate_drift(base_snapshot(surface=False), base_snapshot(surface=False), rules) == []


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_triggers_on_its_change_and_not_on_a_similar_one(rules, rule_id):
    trigger, quiet, message = CASES[rule_id]
    old, new = base_snapshot(), base_snapshot()
    if rule_id == "DR_EMBEDDINGS_ENABLED":
        old["capture"]["store_embeddings"] = False
        quiet_old, quiet_new = copy.deepcopy(new), copy.deepcopy(old)  # turned off: not this rule
    else:
        trigger(new)
        quiet_old, quiet_new = base_snapshot(), base_snapshot()
        quiet(quiet_new)
    hits = [f for f in evaluate_drift(old, new, rules) if f.rule_id == rule_id]
    assert len(hits) == 1 and hits[0].error is None, hits
    if message:
        assert hits[0].message == message
    assert hits[0].span.file == "stdlib/drift.rules"
    assert [f for f in evaluate_drift(quiet_old, quiet_new, rules) if f.rule_id == rule_id] == []


def test_abstention_operator_change_also_triggers(rules):
    new = base_snapshot()
    new["surface"]["symbolic_descent"]["operator"] = "policy_gradient"
    hits = [f for f in evaluate_drift(base_snapshot(), new, rules) if f.rule_id == "DR_ABSTENTION_DISABLED"]
    assert len(hits) == 1 and "operator `concat(policy_gradient, abstention_gradient)` -> `policy_gradient`" in hits[0].message


def test_surface_rules_run_on_snapshots_without_a_surface(rules):
    findings = evaluate_drift(base_snapshot(), base_snapshot(surface=False), rules)
    # dropping the whole surface drops its safe modes, clipping and abstention signal
    assert sorted(f.rule_id for f in findings) == ["DR_ABSTENTION_DISABLED", "DR_CLIPPING_REMOVED",
                                                   "DR_SAFE_MODE_REMOVED"]
    assert all(f.error is None for f in findings)
    assert evaluate_drift(base_snapshot(surface=False), base_snapshot(), rules) == []


def test_ratios_are_configurable(rules):
    old, new = base_snapshot(), base_snapshot()
    new["budgets"]["cost"]["hard_limit"] = 40
    assert not [f for f in evaluate_drift(old, new, rules) if f.rule_id == "DR_COST_HARD_LIMIT_RAISED"]
    strict, _ = load_drift_rules({}, {"drift": {"ratios": {"cost_raise": 1.5}}})
    hits = [f for f in evaluate_drift(old, new, strict) if f.rule_id == "DR_COST_HARD_LIMIT_RAISED"]
    assert hits and hits[0].message.endswith("(more than 1.5x)")


def test_a_rule_that_cannot_evaluate_is_a_finding_not_a_pass(rules):
    old, new = base_snapshot(), base_snapshot()
    new["capture"]["mode"] = "everything"   # not a key of CAPTURE_RANK
    hits = [f for f in evaluate_drift(old, new, rules) if f.rule_id == "DR_CAPTURE_WIDENED"]
    assert len(hits) == 1 and hits[0].error and hits[0].severity is Severity.BLOCK
    assert "could not be evaluated" in hits[0].message and "everything" in hits[0].message
    broken = base_snapshot()
    broken["budgets"]["cost"]["hard_limit"] = "lots"
    hits = [f for f in evaluate_drift(old, broken, rules) if f.rule_id == "DR_COST_HARD_LIMIT_RAISED"]
    assert hits and "new.budgets.cost.hard_limit is a string" in hits[0].message


def test_project_drift_rules_from_sources_and_their_problems():
    sources = {"policy.toml": "[sources]\n", "rules/team.rules": '''
drift DR_TEAM_JUDGE_CHANGED WARN {
  when new.routing.cloud.judge != old.routing.cloud.judge
  message "judge models changed to {new.routing.cloud.judge}"
}
drift DR_TEAM_BROKEN WARN { when new.budgets.cots > 1 }
'''}
    loaded, problems = load_drift_rules(sources, {"rules": {"stdlib": False}})
    assert [r.rule_id for r in loaded] == ["DR_TEAM_JUDGE_CHANGED"]
    assert [(p.code, p.location()) for p in problems] == [("POLC211", "rules/team.rules:6:34")]
    new = base_snapshot()
    new["routing"]["cloud"]["judge"] = ["gpt-4o"]
    findings = evaluate_drift(base_snapshot(), new, loaded)
    assert [(f.rule_id, f.severity.value, f.message) for f in findings] == [
        ("DR_TEAM_JUDGE_CHANGED", "WARN", 'judge models changed to ["gpt-4o"]')]
    assert findings[0].span.file == "rules/team.rules" and findings[0].span.line == 2
    hits = loaded[0].check(base_snapshot(), new)
    assert hits[0].message == 'judge models changed to ["gpt-4o"]'


def test_drift_over_deep_frozen_snapshots(rules):
    from types import MappingProxyType

    def freeze(value):
        if isinstance(value, dict):
            return MappingProxyType({k: freeze(v) for k, v in value.items()})
        if isinstance(value, list):
            return tuple(freeze(v) for v in value)
        return value

    new = base_snapshot()
    new["capture"]["mode"] = "full_io"
    findings = evaluate_drift(freeze(base_snapshot()), freeze(new), rules)
    assert [f.rule_id for f in findings] == ["DR_CAPTURE_WIDENED"]
