"""No simulated run under the runtime's BudgetTracker ever spends more than the proved worst case.

Hypothesis draws policies (roles, fallbacks, reflex, weights, stages bound or not, prices,
context windows, output limits, token budgets, cost limits with or without a warning) and a
run: a sequence of calls, each in a stage, on a model the runtime routes to (any candidate,
fallbacks and the reflex model included), of any size the limits allow. The router follows the
discipline the prover assumes (docs/impact.md): it sizes a call to the stage's remaining
tokens, the context window and max_output_tokens; it charges the call after it returns; once
the tracker has warned it starts only calls that fit the remaining cost. A call whose charge
BudgetTracker refuses has still been paid, and ends the run.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.impact.amounts import is_number
from compiler.impact.prover import prove
from compiler.runtime.errors import BudgetExceeded
from compiler.runtime.snapshot import Snapshot

MODELS = ("m0", "m1", "m2", "m3")
prices = st.decimals(min_value=0, max_value=60, places=2).map(float)


@st.composite
def policies(draw):
    roles = draw(st.lists(st.sampled_from(("r0", "r1", "r2")), min_size=1, max_size=3, unique=True))
    cloud = {r: draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=3, unique=True)) for r in roles}
    fallback = {r: draw(st.lists(st.sampled_from(MODELS), max_size=2, unique=True)) for r in roles if draw(st.booleans())}
    weights = {}
    for role in roles:
        if draw(st.booleans()):
            shares = {m: draw(st.integers(0, 9)) for m in cloud[role]}
            if any(shares.values()):
                weights[role] = {m: s / sum(shares.values()) for m, s in shares.items()}
    reflex = {"enabled": draw(st.booleans()), "model": draw(st.sampled_from(MODELS)), "endpoint": None,
              "roles": None, "gate": "g"}
    stages = draw(st.lists(st.sampled_from(("s0", "s1", "s2")), min_size=1, max_size=3, unique=True))
    bound = {s: draw(st.sampled_from(roles)) for s in stages if draw(st.booleans())}
    tokens = {s: draw(st.integers(1, 40_000)) for s in stages if s not in bound or draw(st.booleans())}
    configs = {}
    for model in MODELS:
        window = draw(st.one_of(st.none(), st.integers(1, 30_000)))
        output = draw(st.one_of(st.none(), st.integers(1, window or 30_000)))
        configs[model] = {"input_price_per_mtok": draw(prices), "output_price_per_mtok": draw(prices),
                          "context_window": window, "max_output_tokens": output}
    cost = None
    if draw(st.booleans()):
        hard = draw(st.decimals(min_value="0.01", max_value=3, places=2))
        warn = draw(st.one_of(st.none(), st.decimals(min_value="0.01", max_value=hard, places=2)))
        cost = {"hard_limit": float(hard), "warn_threshold": None if warn is None else float(warn), "currency": "USD"}
    return {"schema_version": "1.0", "hash": "0" * 64, "policy_id": "p",
            "routing": {"cloud": cloud, "fallback": fallback, "reflex": reflex, "stages": bound},
            "capture": {"mode": "none", "store_embeddings": False}, "gates": {},
            "budgets": {"tokens": tokens, "cost": cost}, "model_config": configs, "weights": weights}


@st.composite
def calls(draw):
    """A run: (stage index, role index, candidate index, key, reflex gate passed, output share, input share)."""
    return draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 3), st.integers(0, 10**6),
                                   st.booleans(), st.integers(0, 100), st.integers(0, 100)), max_size=60))


def exact(price: float) -> Decimal:
    return Decimal(repr(price))


def simulate(data: dict, script) -> tuple[Decimal, dict[str, Decimal]]:
    """Run ``script`` under BudgetTracker; what the run paid in all, and per stage."""
    snap = Snapshot.from_data(data, env={})
    tracker = snap.budget_tracker()
    stages = sorted(set(data["budgets"]["tokens"]) | set(data["routing"]["stages"]))
    paid, per_stage = Decimal(0), {s: Decimal(0) for s in stages}
    for stage_i, role_i, pick, key, passed, out_share, in_share in script:
        stage = stages[stage_i % len(stages)]
        role = data["routing"]["stages"].get(stage) or snap.roles[role_i % len(snap.roles)]
        route = snap.route(role, {"passed_gates": ["g"]} if passed else None, key=key)
        model = route[pick % len(route)].model
        config = data["model_config"][model]
        limits = [n for n in (tracker.remaining_tokens(stage), config["context_window"]) if n is not None]
        size = min(limits) if limits else 10**6
        top = size if config["max_output_tokens"] is None else min(size, config["max_output_tokens"])
        out = top * out_share // 100
        tokens_in = (size - out) * in_share // 100
        cost = (tokens_in * exact(config["input_price_per_mtok"]) +
                out * exact(config["output_price_per_mtok"])) / 1_000_000
        warned = any(e["type"] == "BudgetWarning" for e in tracker.events)
        if warned and tracker.remaining_cost is not None and cost > Decimal(repr(tracker.remaining_cost)):
            continue  # after the warning a router starts only calls that fit
        paid += cost
        per_stage[stage] += cost
        try:
            tracker.charge(stage, tokens=tokens_in + out, cost=cost)
        except BudgetExceeded:
            break   # refused after the call happened: it is paid, and the run stops
        assert tracker.spent <= paid
    return paid, per_stage


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), calls())
def test_no_simulated_run_spends_more_than_the_proved_worst_case(data, script):
    proof = prove(data)
    paid, per_stage = simulate(data, script)
    if is_number(proof.worst):
        assert paid <= proof.worst, (paid, proof.worst, proof.binding)
    for stage in proof.stages:
        if is_number(stage.worst):
            assert per_stage[stage.stage] <= stage.worst


def test_the_bound_is_reached_by_an_adversarial_run():
    """Tight, not just sound: the overshoot counterexample of test_prover, played out for real."""
    data = {"schema_version": "1.0", "hash": "0" * 64, "policy_id": "p",
            "routing": {"cloud": {"a": ["m"]}, "fallback": {}, "reflex": {"enabled": False}, "stages": {"s": "a"}},
            "capture": {"mode": "none", "store_embeddings": False}, "gates": {}, "weights": {},
            "budgets": {"tokens": {"s": 200_000}, "cost": {"warn_threshold": 0.5, "hard_limit": 0.6}},
            "model_config": {"m": {"input_price_per_mtok": 1.0, "output_price_per_mtok": 4.0,
                                   "context_window": 100_000, "max_output_tokens": 50_000}}}
    proof = prove(data)
    tracker = Snapshot.from_data(data, env={}).budget_tracker()
    # 124999 output tokens in three calls: 0.499996 spent, just under the warning ...
    for out in (50_000, 50_000, 24_999):
        tracker.charge("s", tokens=out, cost=Decimal(out * 4) / 1_000_000)
    assert not tracker.events
    # ... then the counterexample's call: 25000 in + 50000 out = 0.225, refused, but paid.
    paid = tracker.spent + Decimal(25_000 + 50_000 * 4) / 1_000_000
    try:
        tracker.charge("s", tokens=75_000, cost=Decimal("0.225"))
    except BudgetExceeded:
        pass
    assert paid == Decimal("0.724996") and proof.worst - Fraction(paid) == Fraction("0.000004")   # one token short
