"""No model_policy.toml reaches an internal error: every generated policy either builds or is
answered with diagnostics (and the exit class their codes give), never an exception."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from compiler.codes import CODES, exit_code_for
from compiler.errors import PolcError

from .conftest import make_project

NAMES = st.sampled_from(["architect", "judge", "plan", "tasks", "reflex_promotion", "gpt-4o", "x", "a-b", "日本"])
EDGE_INTS = st.sampled_from([0, -1, 1, 2**53 - 1, 2**53, -(2**53), 2**63 - 1, -(2**63)])
EDGE_FLOATS = st.sampled_from([0.0, -0.0, 1e-300, 1e300, math.inf, -math.inf, math.nan, 2.0**53, 0.1])
SCALARS = st.one_of(st.booleans(), EDGE_INTS, st.integers(-10**6, 10**6), EDGE_FLOATS,
                    st.floats(allow_nan=False), st.text(max_size=12), NAMES,
                    st.just(dt.datetime(2027, 5, 14)), st.just(dt.date(2027, 5, 14)), st.just(dt.time(7, 32)))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(NAMES, inner, max_size=3)), max_leaves=6)


#: A valid policy; generated ones are it with a few values replaced, so most reach lowering and
#: canonical JSON (where an integer beyond I-JSON used to end in an internal error).
BASE = {
    "routing": {"cloud": {"architect": ["claude-sonnet-4-20250514", "gpt-4o"], "judge": ["gpt-4o"]},
                "fallback": {"judge": ["claude-sonnet-4-20250514"]},
                "reflex": {"enabled": False, "endpoint": "http://127.0.0.1:3009/v1", "model": "qwen"}},
    "capture": {"mode": "prompts_only", "store_embeddings": True},
    "budgets": {"tokens": {"plan": 8000, "tasks": 4000}, "cost": {"warn_threshold": 5.0, "hard_limit": 25.0}},
    "gates": {"reflex_promotion": {"p95_latency_ms": 2000, "success_parity_percent": 85}},
}
PATHS = [("routing", "cloud", "judge"), ("routing", "cloud", "new_role"), ("routing", "fallback", "judge"),
         ("routing", "reflex", "enabled"), ("routing", "reflex", "endpoint"), ("routing", "stages"),
         ("capture", "mode"), ("capture", "store_embeddings"), ("budgets", "tokens", "plan"),
         ("budgets", "tokens", "new_stage"), ("budgets", "cost", "warn_threshold"), ("budgets", "cost", "hard_limit"),
         ("budgets", "cost", "currency"), ("gates", "reflex_promotion", "p95_latency_ms"),
         ("gates", "reflex_promotion", "new_param"), ("gates", "new_gate"), ("unknown_table",)]

#: Values that reach lowering when well formed: where number edge cases matter most.
NUMERIC_PATHS = [("budgets", "tokens", "plan"), ("budgets", "cost", "hard_limit"),
                 ("gates", "reflex_promotion", "p95_latency_ms"), ("gates", "reflex_promotion", "success_parity_percent")]


@st.composite
def policies(draw) -> dict:
    import copy

    policy = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS) | st.sampled_from(NUMERIC_PATHS))
        target = policy
        for key in path[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                break
        else:
            target[path[-1]] = draw(st.one_of(EDGE_INTS, EDGE_FLOATS) | VALUES)
    return policy


def to_toml(policy: dict) -> str:
    import tomlkit

    return tomlkit.dumps(policy)


def _with(path: tuple, value) -> dict:
    import copy

    policy = copy.deepcopy(BASE)
    target = policy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return policy


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(policy=policies())
@example(policy=_with(("budgets", "tokens", "plan"), 2**53))  # once an internal error (CanonicalError)
@example(policy=_with(("gates", "reflex_promotion", "p95_latency_ms"), -(2**53)))
def test_no_generated_policy_reaches_an_internal_error(tmp_path_factory, policy):
    from compiler import build

    try:
        text = to_toml(policy)
    except Exception:  # noqa: BLE001 - a value tomlkit cannot write is not a policy anyone can author
        return
    root = make_project(tmp_path_factory.mktemp("gen"), text)
    try:
        result = build(root)
    except PolcError as exc:  # reported, with an exit class: fine
        assert exc.diagnostics or exc.message
        return
    assert all(d.code in CODES for d in result.diagnostics), result.diagnostics
    code = exit_code_for(result.diagnostics)
    assert code in (0, 1, 3, 4)
    assert (code == 0) == (result.hash is not None)


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**53 + 1])
def test_integers_beyond_i_json_are_a_diagnostic_at_the_value_not_an_internal_error(tmp_path, value):
    from compiler import build

    text = (f'[routing.cloud]\njudge = ["m"]\n\n[capture]\nmode = "none"\n\n[budgets.tokens]\nplan = 10\n\n'
            f'[gates.g]\nlimit = {value}\n')
    result = build(make_project(tmp_path / "p", text))
    assert [d.code for d in result.diagnostics] == ["POLC150"]
    assert str(result.diagnostics[0].span) == "model_policy.toml:11:9"
