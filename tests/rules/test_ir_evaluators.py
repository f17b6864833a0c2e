"""Two evaluators, one IR: the interpreter and the generated code agree on every expression of
every gate (conditions, lets, message interpolations) over random metrics; and generated code
is compiled under ``<polc:FILE#NAME>`` so a runtime error names the policy line."""

from __future__ import annotations

import json
import linecache
import traceback

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import build
from compiler.cel import CelError
from compiler.cel.program import from_checked
from compiler.rules.runtime import gate_from_snapshot
from tests.cel.conformance import same_value
from tests.conftest import REPO
from tests.rules.helpers import rules_project
from tests.rules.test_results_golden import GATES, PARAMS, RULES

EXTRA = '''
gate g_errors {
  input metrics: {a: int, b: int, name: string}
  let ratio = metrics.a / metrics.b
  require ratio > 1 || metrics.b == 0 && metrics.name.startsWith("x")
    message "ratio {ratio} ({metrics.a} / {metrics.b})"
  require [1, 2, 3][metrics.a % 4] > 0
}
'''


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    example = (REPO / "examples" / "full" / "gates.rules").read_text(encoding="utf-8")
    root = rules_project(tmp_path_factory.mktemp("evaluators") / "p",
                         {"rules/example.rules": example, "rules/tests.rules": RULES + EXTRA},
                         policy=(REPO / "examples" / "model_policy.toml").read_text(encoding="utf-8") + PARAMS)
    result = build(root, out_dir=str(root / "out"))
    assert result.ok, result.diagnostics
    return json.loads((result.bundle_dir / "snapshot.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def programs(snapshot):
    """gate -> (gate, [(expression, interpreter program, compiled program)])."""
    out = {}
    for name in [*GATES, "g_errors"]:
        gate = gate_from_snapshot(snapshot, name)
        exprs = [expr for expr, _ in gate.conditions]
        exprs += [part for _, message in gate.conditions if message for part in message.parts()
                  if not isinstance(part, str)]
        pairs = [(expr, from_checked(expr.node, gate.facts, backend="interp"),
                  from_checked(expr.node, gate.facts, backend="compiled", file=gate.file, name=expr.name))
                 for expr in exprs]
        pairs += [(let_name, from_checked(node, gate.facts, backend="interp"),
                   from_checked(node, gate.facts, backend="compiled")) for let_name, node in gate.facts.lets]
        out[name] = (gate, pairs)
    return out


numbers = st.one_of(st.integers(-3, 3000), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 2 ** 63, -(2 ** 63) - 1, 10 ** 30, -0.0]))
values = st.one_of(numbers, st.booleans(), st.text(max_size=4), st.none(),
                   st.lists(st.one_of(numbers, st.text(max_size=3)), max_size=3),
                   st.dictionaries(st.text(max_size=2), numbers, max_size=3))
FIELDS = {name: fields for name, (fields, _) in GATES.items()} | {"g_errors": {"a": "int", "b": "int", "name": "str"}}
TYPED = {"num": numbers, "int": st.integers(-5, 300) | st.sampled_from([2 ** 63 - 1, -(2 ** 63)]),
         "bool": st.booleans(), "str": st.sampled_from(["canary", "bad", "blue", "", "x1"]),
         "strs": st.lists(st.sampled_from(["blue", "claude-x", "gpt-4o", ""]), max_size=4),
         "nums": st.dictionaries(st.sampled_from(["a", "b", "c"]), numbers, max_size=3),
         "nums_list": st.lists(numbers, max_size=4), "any": values}


def field_value(kind: str):
    """Mostly of the declared kind (so binding accepts it and every expression runs), sometimes not."""
    return st.one_of(TYPED[kind], TYPED[kind], TYPED[kind], values)


def _outcome(program, bindings):
    try:
        return program.evaluate(bindings)
    except CelError as err:
        return ("error", err.code)


def _same(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    return same_value(a, b)


@pytest.mark.parametrize("name", [*GATES, "g_errors"])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_interpreter_and_generated_code_agree_on_random_metrics(programs, name, data):
    gate, pairs = programs[name]
    metrics = {field: data.draw(field_value(kind)) for field, kind in FIELDS[name].items()
               if data.draw(st.integers(0, 19))}  # now and then a field is missing
    inputs = {gate.inputs[0][0]: metrics}
    for input_name, _, _ in gate.inputs[1:]:
        inputs[input_name] = data.draw(st.lists(st.text(max_size=4), max_size=3))
    bindings, failures = gate._bind(inputs)
    if failures:
        return  # binding refused the metrics: no expression runs (the gate fails closed)
    for expr, interpreted, compiled in pairs:
        a, b = _outcome(interpreted, bindings), _outcome(compiled, bindings)
        assert _same(a, b), f"{name}: {getattr(expr, 'text', expr)} gave {a!r} (interpreter) and {b!r} (compiled)"


def test_a_runtime_error_names_the_policy_line_and_the_generated_module(programs):
    gate, _ = programs["g_errors"]
    lines = (RULES + EXTRA).split("\n")
    let_line = next(i for i, text in enumerate(lines, 1) if "let ratio" in text)
    result = gate.evaluate({"a": 1, "b": 0, "name": "y"})
    failure = result.failures[0]
    assert (str(failure.span), failure.error) == (
        f"rules/tests.rules:{let_line + 1}:11", f"division by zero at rules/tests.rules:{let_line}:15")
    assert failure.observed == {"ratio": None, "metrics.b": 0, "metrics.name": "y"}
    program = gate.program(gate.conditions[0][0])
    with pytest.raises(CelError) as info:
        program.evaluate({"metrics": {"a": 1, "b": 0, "name": "y"}, "params": {}})
    assert str(info.value.span) == f"rules/tests.rules:{let_line}:15"  # the division, inside the let
    filename = "<polc:rules/tests.rules#g_errors#1>"
    frames = [frame.filename for frame in traceback.extract_tb(info.value.__traceback__)]
    assert filename in frames and linecache.getlines(filename)


def test_interpreter_and_generated_code_agree_on_every_stdlib_drift_rule():
    from compiler.rules.drift import _bind_pair, load_drift_rules
    from tests.rules.helpers import base_snapshot
    from tests.rules.test_results_golden import _mutations

    rules, problems = load_drift_rules({}, {"drift": {"ratios": {"cost_raise": 1.5}}})
    assert not [p for p in problems if p.is_error] and len(rules) >= 20
    pairs = [(rule.rule_id, from_checked(node, rule.facts, backend="interp", budget=rule.budget),
              from_checked(node, rule.facts, backend="compiled", budget=rule.budget))
             for rule in rules for node in [rule.when.node] + [node for _, node in rule.facts.lets]]
    base = base_snapshot()
    compared = 0
    for _, new in _mutations(base)[:20]:
        old_bound, new_bound = _bind_pair(base, new)
        bindings = {"old": old_bound, "new": new_bound}
        for rule_id, interpreted, compiled in pairs:
            a, b = _outcome(interpreted, bindings), _outcome(compiled, bindings)
            assert _same(a, b), f"{rule_id}: {a!r} (interpreter) != {b!r} (compiled)"
            compared += 1
    assert compared > 400
