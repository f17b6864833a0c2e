"""The generated PASS test of a gate (compiler/cel/codegen_gate.py) never changes a result:
PASS test + full path == full path alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import build
from compiler.rules.runtime import gate_from_snapshot
from tests.rules.helpers import rules_project

RULES = '''
gate fg_map {
  input metrics: map(string, double)
  require metrics.p95 <= params.p95 message "p95 {metrics.p95} above {params.p95}"
  require "p50" in metrics && metrics.p50 < metrics.p95 || metrics.p95 < 10.0
}

gate fg_mixed {
  input metrics: {count: int, name: string, ok: bool, ratio: double}
  let floor = params.min_ratio
  require metrics.ratio >= floor && metrics.ok message "ratio {metrics.ratio} below {floor}"
  require metrics.count >= 3 || metrics.name == "canary"
  require !(metrics.name == params.banned) && metrics.ratio < 1000000.0
}

gate fg_nested {
  input metrics: {tags: list(string), scores: map(string, double), p95: double}
  require metrics.tags.exists(t, t == params.tag) message "no {params.tag} tag in {metrics.tags}"
  require metrics.scores.all(k, metrics.scores[k] >= 0.0)
  require metrics.p95 <= params.p95
}
'''
PARAMS = '''
[gates.fg_map]
p95 = 2000

[gates.fg_mixed]
min_ratio = 0.5
banned = "bad"

[gates.fg_nested]
tag = "blue"
p95 = 2000
'''
GATES = ["reflex_promotion", "local_memory_sunset", "fg_map", "fg_mixed", "fg_nested"]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    root = rules_project(tmp_path_factory.mktemp("fast") / "p", {"rules/fast.rules": RULES},
                        policy=open("examples/model_policy.toml").read() + PARAMS)
    result = build(root, out_dir=str(root / "out"))
    assert result.ok, result.diagnostics
    return json.loads((result.bundle_dir / "snapshot.json").read_text())


@pytest.fixture(scope="module")
def pairs(snapshot):
    """gate name -> (gate with its fast path, the same gate on the slow path only)."""
    out = {}
    for name in GATES:
        slow = gate_from_snapshot(snapshot, name)
        slow._fast = None
        out[name] = (gate_from_snapshot(snapshot, name), slow)
    return out


class Frozen(Mapping):
    """A non-dict Mapping, as a caller's own metrics object might be."""

    def __init__(self, data):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


GOOD = {
    "reflex_promotion": {"p95_latency_ms": 1800.0, "success_parity_percent": 91},
    "local_memory_sunset": {"retrieval_p95_parity": True, "stable_days": 45},
    "fg_map": {"p95": 1500, "p50": 900.0},
    "fg_mixed": {"count": 5, "name": "x", "ok": True, "ratio": 0.75},
    "fg_nested": {"tags": ["red", "blue"], "scores": {"a": 1.0}, "p95": 10},
}

scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=-10, max_value=5000),
    st.integers(-5, 5000), st.integers(), st.sampled_from([2 ** 63, -2 ** 63 - 1, 10 ** 400, -0.0]),
    st.booleans(), st.text(max_size=4), st.sampled_from(["canary", "bad", "blue", ""]), st.none(),
    st.binary(max_size=2))
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=6)


@st.composite
def metrics_for(draw, name):
    data = dict(GOOD[name])
    for key in list(data):
        roll = draw(st.integers(0, 5))
        if roll == 0:
            del data[key]
        elif roll == 1:
            data[key] = draw(junk)
        elif roll == 2:
            data[key] = draw(scalars)
    if draw(st.booleans()):
        data.update(draw(st.dictionaries(st.sampled_from(["extra", "p50", "p95", "ok", "x y", "tags"]), junk,
                                         max_size=2)))
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return MappingProxyType(data)
    if shape == 1:
        return Frozen(data)
    if shape == 2:
        return draw(junk)
    return data


def outcome(gate, metrics, keywords: dict | None = None) -> str:
    """The result's repr (NaN-safe, unlike ==), or the exception the slow path raises."""
    try:
        return repr(gate.evaluate(metrics, **(keywords or {})))
    except Exception as err:  # noqa: BLE001 - the slow path's exceptions must be kept too
        return f"raised {type(err).__name__}: {err}"


@pytest.mark.parametrize("name", GATES)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_path_gives_exactly_the_slow_result(pairs, name, data):
    fast, slow = pairs[name]
    metrics = data.draw(metrics_for(name))
    assert outcome(fast, metrics) == outcome(slow, metrics)
    assert outcome(fast, metrics) == outcome(slow, metrics)  # again: the built fast path
    keyword = data.draw(st.sampled_from([{"metrics": metrics}, {"metric": metrics},
                                         {"metrics": metrics, "extra": 1}]))
    assert outcome(fast, None, keyword) == outcome(slow, None, keyword)
    assert outcome(fast, metrics, keyword) == outcome(slow, metrics, keyword)


@pytest.mark.parametrize("name", GATES)
def test_a_pass_takes_the_fast_path_and_equals_the_slow_pass(pairs, name):
    fast, slow = pairs[name]
    result = fast.evaluate(GOOD[name])
    assert result == slow.evaluate(GOOD[name]) and result.passed
    assert fast._fast is not None and fast._fast(GOOD[name]) is True
    assert fast.evaluate(GOOD[name]) is result  # the cached, immutable PASS


@pytest.mark.parametrize("name", GATES)
def test_failures_and_bad_input_are_left_to_the_slow_path(pairs, name):
    fast, slow = pairs[name]
    fast.evaluate(GOOD[name])
    for metrics in (None, [], "x", {}):
        assert fast._fast(metrics) is not True
    for metrics in (MappingProxyType(GOOD[name]), Frozen(GOOD[name])):  # a pass only when binding passes it
        assert fast._fast(metrics) is not True or slow.evaluate(metrics).passed


def test_simple_gates_read_their_fields_without_binding(pairs):
    for name in ("reflex_promotion", "local_memory_sunset", "fg_mixed"):
        fast, _ = pairs[name]
        fast.evaluate(GOOD[name])
        assert "bindings = {" not in fast._fast_source and "m['" in fast._fast_source, name
    fast, _ = pairs["fg_nested"]  # a list and a map field: bound first, as the full path binds
    fast.evaluate(GOOD["fg_nested"])
    assert "bindings = {'params': _PARAMS, 'metrics': _bind(m, _T, True)}" in fast._fast_source


def test_extra_plain_metrics_still_pass_fast(pairs):
    fast, slow = pairs["reflex_promotion"]
    metrics = {**GOOD["reflex_promotion"], "p50": 900.0, "note": "nightly", "seen": None}
    assert fast._fast(metrics) is True and fast.evaluate(metrics) == slow.evaluate(metrics)
    assert fast._fast({**metrics, "nested": [1]}) is None  # thawed by binding: left to the slow path


@pytest.mark.parametrize("name", ["reflex_promotion", "fg_map"])
def test_an_integer_too_large_for_a_double_fails_closed(pairs, name):
    fast, slow = pairs[name]
    metrics = {**GOOD[name], "p95_latency_ms" if name == "reflex_promotion" else "p95": 10 ** 400}
    result = fast.evaluate(metrics)
    assert result == slow.evaluate(metrics) and not result.passed
    assert result.failures[0].message.endswith("is an integer of about 401 digits, too large for a double")


def test_a_failing_pass_case_still_reports_the_failure(pairs):
    fast, _ = pairs["reflex_promotion"]
    result = fast.evaluate({"p95_latency_ms": 2300.5, "success_parity_percent": 91})
    assert not result.passed and result.failures[0].observed["metrics.p95_latency_ms"] == 2300.5


def test_keyword_inputs_pass_fast_and_gates_without_a_fast_path_are_unchanged(pairs):
    fast, slow = pairs["reflex_promotion"]
    passed = fast.evaluate(metrics=GOOD["reflex_promotion"])
    assert passed == slow.evaluate(metrics=GOOD["reflex_promotion"]) and passed is fast._pass
    missing = fast.evaluate(None, metric=GOOD["reflex_promotion"])
    assert missing == slow.evaluate(None, metric=GOOD["reflex_promotion"]) and not missing.passed


def test_a_gate_whose_pass_test_cannot_be_built_keeps_the_full_path(snapshot, monkeypatch):
    import compiler.cel.codegen_gate as codegen_gate

    def broken(*args, **kwargs):
        raise RuntimeError("does not compile")

    monkeypatch.setattr(codegen_gate, "pass_test", broken)
    gate = gate_from_snapshot(snapshot, "reflex_promotion")
    assert gate.evaluate(GOOD["reflex_promotion"]).passed and gate._fast is None
