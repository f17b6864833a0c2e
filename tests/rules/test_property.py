"""Property tests: random token soup never crashes the front end; random metrics never crash a gate."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.errors import InputError
from compiler.rules.parser import parse_rules
from compiler.rules.runtime import build_gate

TOKENS = ["gate", "drift", "import", "const", "let", "input", "require", "when", "message", "{", "}", "(", ")",
          "[", "]", ":", ",", "=", "==", "&&", "||", "!", "?", ".", "x", "metrics", "params", "old", "new",
          "BLOCK", "WARN", '"m {x}"', '"unterminated', "'s'", "1", "2.5", "-", "+", "in", "has", "exists",
          "all", "map", "\n", " ", "//c\n", "\xff", "{{", "}}", '"{"', "\\"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_gives_a_diagnostic_or_a_tree(tokens):
    text = " ".join(tokens)
    try:
        parse_rules(text, "soup.rules")
    except InputError as err:
        assert err.diagnostics and all(d.span is not None and d.code.startswith("POLC") for d in err.diagnostics)


BLOCK = {"gates": {"g": {
    "file": "g.rules", "span": [1, 1, 6, 2], "params": "g",
    "inputs": [{"name": "metrics", "type": "map(string, double)", "span": [2, 3, 2, 40]},
               {"name": "models", "type": "list(string)", "span": [3, 3, 3, 30]}],
    "lets": [{"name": "limit", "expr": "params.p95 * 1.5", "file": "g.rules", "span": [4, 15, 4, 31]}],
    "conditions": [
        {"expr": "metrics.p95 <= limit && metrics.samples >= 10.0", "span": [5, 11, 5, 58],
         "message": {"template": "p95 {metrics.p95} vs {limit}", "span": [5, 67, 5, 97]}},
        {"expr": "models.exists(m, m.startsWith('claude')) || size(models) == 0", "span": [6, 11, 6, 73],
         "message": None}]}}}
GATE = build_gate(BLOCK, "g", {"p95": 1000})

values = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                   st.text(max_size=5), st.lists(st.integers(), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["p95", "samples", "other"]), values, max_size=3),
       st.one_of(st.lists(st.text(max_size=8), max_size=4), values))
def test_random_inputs_fail_closed_never_crash(metrics, models):
    result = GATE.evaluate(metrics, models=models)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values())
    if result.passed:
        assert numeric and isinstance(models, list) and {"p95", "samples"} <= set(metrics)
        assert float(metrics["p95"]) <= 1500.0 and float(metrics["samples"]) >= 10.0
    for failure in result.failures:
        assert failure.message and failure.span.file == "g.rules"
