"""The budget prover: figures computed by hand from the policy, and where `polc check` reports them.

Every expected number below is worked out in the comment above it from the prices, limits
and budgets of the policy under test (docs/impact.md explains the model).
"""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from compiler import check
from compiler.impact.amounts import UNBOUNDED, UNKNOWN, text
from compiler.impact.prover import prove
from compiler.passes.budget_proof import policy_blocks

from ..conftest import make_project, run_polc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "full"


@pytest.fixture(scope="module")
def example_proof():
    import tomllib

    data = tomllib.loads((EXAMPLE / "model_policy.toml").read_text(encoding="utf-8"))
    return prove(policy_blocks(data))


def rows(proof, stage):
    return {r.model: r for r in proof.stage(stage).rows}


def test_example_implement_stage_by_hand(example_proof):
    implement = rows(example_proof, "implement")
    # claude-sonnet: 3 / 15 per Mtok, max output 8192 > 6000: the costliest call is all output,
    # 6000 × 15 / 10^6 = 0.09, and so is the whole budget on it.
    claude = implement["claude-sonnet-4-20250514"]
    assert (claude.call.input_tokens, claude.call.output_tokens, claude.call.cost) == (0, 6000, F("0.09"))
    assert claude.worst == F("0.09") and claude.share == F(9, 10)
    # gpt-4o: 2.5 / 10, max output 4096 (from [model_config.default]): one call is 1904 in + 4096 out,
    # (1904 × 2.5 + 4096 × 10) / 10^6 = 0.04572; the budget on it 6000 × 10 / 10^6 = 0.06.
    gpt = implement["gpt-4o"]
    assert (gpt.call.input_tokens, gpt.call.output_tokens, gpt.call.cost) == (1904, 4096, F("0.04572"))
    assert gpt.worst == F("0.06") and gpt.share == F(1, 10)
    assert "model_config.gpt-4o.max_output_tokens" in gpt.call.limit
    # gpt-4o-mini is a fallback: in the worst case, not in the expected cost (share 0).
    mini = implement["gpt-4o-mini"]
    assert (mini.source, mini.share, mini.worst) == ("fallback", 0, F("0.0036"))   # 6000 × 0.6 / 10^6
    # expected: 0.9 × 0.09 + 0.1 × 0.06 = 0.087
    assert example_proof.stage("implement").expected == F("0.087")
    assert example_proof.stage("implement").worst == F("0.09")


def test_example_run_totals_by_hand(example_proof):
    # plan (architect, 8000): 8000 × 15 / 10^6 = 0.12; tasks (architect, 4000): 0.06; implement: 0.09.
    assert [(s.stage, s.role, text(s.worst), text(s.expected)) for s in example_proof.stages] == [
        ("implement", "implementer", "0.09", "0.087"), ("plan", "architect", "0.12", "0.12"),
        ("tasks", "architect", "0.06", "0.06")]
    # S = 0.27; the costliest call (plan on claude, 0.12) fits in the 20 USD between warn (5) and
    # hard (25), so no overshoot: worst = min(0.27, 25) = 0.27, set by the token budgets.
    assert example_proof.worst == F("0.27") and example_proof.binding == "budgets.tokens"
    assert example_proof.expected == F("0.267")
    assert example_proof.overshoot is None and example_proof.overflows == () and example_proof.missing_prices == ()
    assert example_proof.max_call[:2] == ("plan", "claude-sonnet-4-20250514")


def policy(**changes) -> dict:
    """One stage `s` served by role `a`; model `m` at 1 / 4 per Mtok, window 100k, output 50k."""
    base = {
        "routing": {"cloud": {"a": ["m"]}, "stages": {"s": "a"}},
        "budgets": {"tokens": {"s": 200_000}, "cost": {"warn_threshold": 0.5, "hard_limit": 0.6, "currency": "USD"}},
        "model_config": {"m": {"input_price_per_mtok": 1, "output_price_per_mtok": 4, "context_window": 100_000,
                               "max_output_tokens": 50_000}},
    }
    for key, value in changes.items():
        base[key] = value
    return base


def test_overshoot_counterexample_by_hand():
    proof = prove(policy())
    # S = 200000 × 4 / 10^6 = 0.8 > hard 0.6. The dearest realizable call: t = (S - warn) / q =
    # (0.8 - 0.5) / 0.000004 = 75000 tokens, 50000 of them output: (25000 × 1 + 50000 × 4) / 10^6 =
    # 0.225, after 0.5 spent (just under the warning): the run ends at up to 0.725 > 0.6.
    o = proof.overshoot
    assert (o.stage, o.model, o.call.input_tokens, o.call.output_tokens) == ("s", "m", 25_000, 50_000)
    assert (o.call.cost, o.before, o.total) == (F("0.225"), F("0.5"), F("0.725"))
    assert proof.worst == F("0.725") and proof.binding == "budgets.cost.warn_threshold + one call (overshoot)"
    # the full-window call (50000 in + 50000 out = 0.25) leaves only 0.4 to spend before it: 0.65 < 0.725
    assert proof.max_call[2].cost == F("0.25")


def test_a_warn_threshold_that_leaves_room_for_the_costliest_call_removes_the_overshoot():
    # hard - costliest call = 0.6 - 0.25 = 0.35: with warn 0.35 every run stops in time.
    proof = prove(policy(budgets={"tokens": {"s": 200_000}, "cost": {"warn_threshold": 0.35, "hard_limit": 0.6}}))
    assert proof.overshoot is None and proof.worst == F("0.6") and proof.binding == "budgets.cost.hard_limit"
    # without a warn threshold the gap is 0: any call can overshoot (reach just under 0.6, then 0.25)
    proof = prove(policy(budgets={"tokens": {"s": 200_000}, "cost": {"hard_limit": 0.6}}))
    assert proof.overshoot is not None and proof.worst > F("0.6")


def test_no_overshoot_when_the_budgets_cannot_reach_the_hard_limit():
    # 100000 tokens × 4 / 10^6 = 0.4 < 0.6: however big a call, the run never gets there.
    proof = prove(policy(budgets={"tokens": {"s": 100_000}, "cost": {"warn_threshold": 0.5, "hard_limit": 0.6}}))
    assert proof.overshoot is None and proof.worst == F("0.4") and proof.binding == "budgets.tokens"


def test_context_window_overflow_and_unbounded_and_unknown():
    proof = prove(policy())
    assert [(o.stage, o.model, o.tokens, o.context_window, o.cost) for o in proof.overflows] == \
        [("s", "m", 200_000, 100_000, F("0.8"))]
    unbounded = prove(policy(budgets={"tokens": {}, "cost": None}))   # stage s has no budget, no cost limit
    assert unbounded.worst == UNBOUNDED and "s" in unbounded.binding
    assert unbounded.stage("s").tokens is None
    unknown = prove(policy(model_config={"m": {"context_window": 100_000}}))
    assert unknown.worst == UNKNOWN and [(p.model, p.keys) for p in unknown.missing_prices] == \
        [("m", ("input_price_per_mtok", "output_price_per_mtok"))]


def test_free_models_cost_nothing_even_without_limits():
    proof = prove(policy(budgets={"tokens": {}, "cost": None},
                         model_config={"m": {"input_price_per_mtok": 0, "output_price_per_mtok": 0}}))
    assert proof.worst == 0


def test_fallbacks_and_the_reflex_model_count_in_the_worst_case_only():
    routing = {"cloud": {"a": ["m"]}, "fallback": {"a": ["dear"]}, "stages": {"s": "a"},
               "reflex": {"enabled": True, "model": "local", "roles": None, "gate": "g"}}
    configs = {"m": {"input_price_per_mtok": 1, "output_price_per_mtok": 1},
               "dear": {"input_price_per_mtok": 10, "output_price_per_mtok": 30},
               "local": {"input_price_per_mtok": 0, "output_price_per_mtok": 0}}
    proof = prove({"routing": routing, "budgets": {"tokens": {"s": 1000}, "cost": None}, "model_config": configs})
    assert [(r.model, r.source, r.share) for r in proof.stage("s").rows] == \
        [("local", "reflex", 0), ("m", "cloud", 1), ("dear", "fallback", 0)]
    assert proof.worst == F("0.03") and proof.expected == F("0.001")   # 1000 × 30 and 1000 × 1, per 10^6


def test_shares_that_do_not_end_as_decimals_stay_exact():
    routing = {"cloud": {"a": ["x", "y", "z"]}, "stages": {"s": "a"}}
    configs = {m: {"input_price_per_mtok": p, "output_price_per_mtok": p} for m, p in (("x", 1), ("y", 2), ("z", 4))}
    proof = prove({"routing": routing, "weights": {"a": {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}},
                   "budgets": {"tokens": {"s": 1000}, "cost": None}, "model_config": configs})
    # (1000 × (1 + 2 + 4) / 10^6) / 3 = 7/3000
    assert proof.expected == F(7, 3000) and text(proof.expected) == "7/3000"


def test_an_unbound_stage_may_be_served_by_any_routed_model():
    routing = {"cloud": {"a": ["cheap"], "b": ["dear"]}}
    configs = {"cheap": {"input_price_per_mtok": 1, "output_price_per_mtok": 1},
               "dear": {"input_price_per_mtok": 5, "output_price_per_mtok": 5}}
    proof = prove({"routing": routing, "budgets": {"tokens": {"s": 1000}, "cost": None}, "model_config": configs})
    assert proof.stage("s").role is None and {r.model for r in proof.stage("s").rows} == {"cheap", "dear"}
    assert proof.worst == F("0.005") and proof.expected == F("0.005")   # the dearest role's expectation
    assert any("no role" in note for note in proof.notes)


OVERSHOOT_POLICY = """\
[routing.cloud]
a = ["m"]

[routing.stages]
s = "a"

[capture]
mode = "none"

[budgets.tokens]
s = 200000

[budgets.cost]
warn_threshold = 0.5
hard_limit = 0.6

[model_config.m]
provider = "x"
context_window = 100000
max_output_tokens = 50000
input_price_per_mtok = 1
output_price_per_mtok = 4

[model_config.n]
provider = "x"
"""


def test_check_reports_each_finding_at_its_toml_line_with_its_counterexample(tmp_path):
    root = make_project(tmp_path / "p", OVERSHOOT_POLICY.replace('a = ["m"]', 'a = ["m", "n"]'))
    found = {d.code: d for d in check(root) if d.code.startswith("POLC56")}
    overflow, overshoot, price = found["POLC560"], found["POLC561"], found["POLC562"]
    assert (overflow.severity.value, overflow.location()) == ("warning", "model_policy.toml:11:5")
    assert "200000 tokens on `m` cannot fit in its 100000-token window" in overflow.notes[0]
    assert (overshoot.severity.value, overshoot.location()) == ("error", "model_policy.toml:15:14")
    assert overshoot.message.startswith("a run can spend more than hard_limit (0.6 USD)")  # `n` has no price
    assert "then one `s` call on `m` of 25000 input + 50000 output tokens costs 0.225 USD" in overshoot.notes[0]
    assert (price.severity.value, price.location()) == ("warning", "model_policy.toml:24:1")   # [model_config.n]


def test_check_overshoot_figures_when_every_model_is_priced(tmp_path):
    root = make_project(tmp_path / "p", OVERSHOOT_POLICY)
    (overshoot,) = [d for d in check(root) if d.code == "POLC561"]
    assert overshoot.message.startswith("a run can spend up to 0.725 USD, over hard_limit (0.6 USD): one call can "
                                        "cost 0.225 USD, more than the 0.1 USD between")
    assert "a warn_threshold of at most 0.35" in overshoot.hint


def test_the_examples_check_clean():
    assert [d for d in check(EXAMPLE) if d.code.startswith("POLC56")] == []


def test_explain_budget_text_and_json(tmp_path):
    done = run_polc("explain", "budget", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "implement  implementer  6000    claude-sonnet-4-20250514  0.9    0+6000 → 0.09" in done.stdout
    assert "Run: worst case 0.27 USD (binding: budgets.tokens); expected 0.267 USD; hard_limit 25, " \
           "warn_threshold 5" in done.stdout
    data = json.loads(run_polc("explain", "budget", str(EXAMPLE), "--format", "json").stdout)
    assert data["run"]["worst_case"] == "0.27" and data["run"]["expected"] == "0.267"
    gpt = [m for s in data["stages"] if s["stage"] == "implement" for m in s["models"] if m["model"] == "gpt-4o"][0]
    assert gpt["max_call"] == {"input_tokens": 1904, "output_tokens": 4096, "cost": "0.04572",
                               "limit": "budgets.tokens.implement, model_config.gpt-4o.max_output_tokens"}
    assert (gpt["share"], gpt["worst_case"], gpt["expected"]) == ("0.1", "0.06", "0.006")
    only = json.loads(run_polc("explain", "budget", str(EXAMPLE), "--stage", "plan", "--format", "json").stdout)
    assert [s["stage"] for s in only["stages"]] == ["plan"]


def test_explain_budget_exit_codes(tmp_path):
    unknown = run_polc("explain", "budget", str(EXAMPLE), "--stage", "plna")
    assert unknown.returncode == 2 and "POLC563" in unknown.stderr and "did you mean `plan`" in unknown.stderr
    root = make_project(tmp_path / "p", OVERSHOOT_POLICY)
    failing = run_polc("explain", "budget", str(root))
    assert failing.returncode == 1 and "overshoot: just under 0.5 spent before the warning" in failing.stdout
    assert "error[POLC561]" in failing.stdout
    missing = run_polc("explain", "budget", str(tmp_path / "nowhere"))
    assert missing.returncode == 3


def test_explain_budget_of_a_bundle(tmp_path):
    out = tmp_path / "out"
    assert run_polc("build", str(EXAMPLE), "--out", str(out)).returncode == 0
    done = run_polc("explain", "budget", "--bundle", str(out / "policy.json"), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run"]["worst_case"] == "0.27"


def test_values_other_checks_refuse_are_reported_once_not_proved(tmp_path):
    root = make_project(tmp_path / "p", OVERSHOOT_POLICY.replace("context_window = 100000", "context_window = 0"))
    assert [d.code for d in check(root) if d.is_error or d.code.startswith("POLC56")] == ["POLC513"]
