"""Drift rules of stdlib/catalog.rules: weight shifts, incompatible prompt variables, retiring models."""

from __future__ import annotations

import copy
import functools
import json

import pytest

from compiler.rules.drift import evaluate_drift, load_drift_rules

from ..conftest import run_polc
from .helpers import BASE, compile_ok, project

OURS = ("DR_WEIGHT_SHIFT", "DR_PROMPT_VARIABLES_INCOMPATIBLE", "DR_MODEL_RETIRING")
POLICY = BASE + """
[model_config.default]
provider = "openai"

[model_config.gpt-4o]
provider = "openai"
retires_on = 2026-12-20

[weights.architect]
"claude-sonnet-4-20250514" = 90
gpt-4o = 10

[prompts.plan]
template = "Plan {{ request }} in {{ steps }} steps."

[prompts.plan.variables]
request = { type = "string" }
steps = { type = "integer" }
"""
NOV_23 = "1795392000"  # 2026-11-23T00:00:00Z: NEW's created_at, from SOURCE_DATE_EPOCH


@pytest.fixture
def snapshot(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOV_23)
    return compile_ok(tmp_path, POLICY).snapshot


@functools.lru_cache(maxsize=None)
def stdlib_rules(ratios: tuple = ()) -> list:
    rules, problems = load_drift_rules({}, {"drift": {"ratios": dict(ratios)}})
    assert problems == []
    return [r for r in rules if r.rule_id in OURS]


def fired(old, new, ratios=None) -> dict[str, tuple[str, str]]:
    rules = stdlib_rules(tuple(sorted((ratios or {}).items())))
    return {f.rule_id: (f.severity.value, f.message) for f in evaluate_drift(old, new, rules) if f.rule_id in OURS}


def changed(snapshot, **edits):
    new = copy.deepcopy(snapshot)
    for path, value in edits.items():
        *parents, last = path.split("__")
        target = new
        for key in parents:
            target = target[key]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return new


def test_the_stdlib_rules_load_and_check_cleanly():
    rules, problems = load_drift_rules({}, {})
    assert problems == [] and set(OURS) <= {r.rule_id for r in rules}


def test_a_weight_shift_above_the_limit_warns(snapshot):
    small = changed(snapshot, weights__architect={"claude-sonnet-4-20250514": 0.85, "gpt-4o": 0.15})
    big = changed(snapshot, weights__architect={"claude-sonnet-4-20250514": 0.6, "gpt-4o": 0.4})
    gone = changed(snapshot, weights__architect={"gpt-4o": 1.0})
    assert "DR_WEIGHT_SHIFT" not in fired(snapshot, small)
    at_limit = changed(snapshot, weights__architect={"claude-sonnet-4-20250514": 0.7, "gpt-4o": 0.3})
    assert "DR_WEIGHT_SHIFT" not in fired(snapshot, at_limit)  # exactly 20 points is not more than 20
    assert fired(snapshot, big)["DR_WEIGHT_SHIFT"] == (
        "WARN", 'the traffic split of role(s) ["architect"] moved by more than 20 percentage points in one change')
    assert "DR_WEIGHT_SHIFT" in fired(snapshot, gone)
    assert "DR_WEIGHT_SHIFT" not in fired(snapshot, big, {"weight_shift": 0.35})  # [drift.ratios]


@pytest.mark.parametrize("edit, breaks", [
    ({"prompts__plan__variables__steps": None}, True),                                           # removed
    ({"prompts__plan__variables__steps": {"type": "string", "required": True, "description": None}}, True),
    ({"prompts__plan__variables__tone": {"type": "string", "required": True, "description": None}}, True),
    ({"prompts__plan__variables__tone": {"type": "string", "required": False, "description": None}}, False),
    ({"prompts__plan__template": "Plan {{ request }} in at most {{ steps }} steps."}, False),      # text only
])
def test_incompatible_prompt_variables_block(snapshot, edit, breaks):
    found = fired(snapshot, changed(snapshot, **edit))
    assert ("DR_PROMPT_VARIABLES_INCOMPATIBLE" in found) is breaks
    if breaks:
        assert found["DR_PROMPT_VARIABLES_INCOMPATIBLE"][0] == "BLOCK"


def test_optional_variable_made_required_blocks(snapshot):
    optional = changed(snapshot, prompts__plan__variables__steps={"type": "integer", "required": False,
                                                                  "description": None})
    assert "DR_PROMPT_VARIABLES_INCOMPATIBLE" in fired(optional, snapshot)
    assert "DR_PROMPT_VARIABLES_INCOMPATIBLE" not in fired(snapshot, optional)  # relaxing is compatible


def test_a_routed_model_retiring_soon_warns(snapshot):
    # gpt-4o retires 2026-12-20, 27 days after NEW's build on 2026-11-23
    assert fired(snapshot, copy.deepcopy(snapshot))["DR_MODEL_RETIRING"] == (
        "WARN", 'model(s) ["gpt-4o"] retire within 30 days of this build; plan their replacement')
    assert "DR_MODEL_RETIRING" not in fired(snapshot, copy.deepcopy(snapshot), {"retirement_days": 20.0})
    later = copy.deepcopy(snapshot)
    later["model_config"]["gpt-4o"]["retires_on"] = "2027-06-30"
    assert "DR_MODEL_RETIRING" not in fired(snapshot, later)
    unrouted = copy.deepcopy(snapshot)
    unrouted["routing"]["cloud"]["architect"] = ["claude-sonnet-4-20250514"]
    unrouted["weights"] = {}
    assert "DR_MODEL_RETIRING" not in fired(snapshot, unrouted)


def test_polc_diff_reports_an_incompatible_prompt_change_end_to_end(tmp_path):
    env = {"SOURCE_DATE_EPOCH": NOV_23}
    old_root, new_root = tmp_path / "old", tmp_path / "new"
    for root, text in ((old_root, POLICY), (new_root, POLICY.replace('steps = { type = "integer" }',
                                                                     'steps = { type = "string" }'))):
        built = project(root, text)
        done = run_polc("build", str(built), "--out", str(root / "out"), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    done = run_polc("diff", str(old_root / "out" / "policy.json"), str(new_root / "out" / "policy.json"),
                    "--format", "json", env=env)
    report = json.loads(done.stdout)
    rules = {f["rule_id"]: f["severity"] for f in report["findings"]}
    assert rules.get("DR_PROMPT_VARIABLES_INCOMPATIBLE") == "BLOCK" and report["status"] == "BLOCK"
    assert done.returncode == 1
