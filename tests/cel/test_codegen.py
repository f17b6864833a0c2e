"""The compiled evaluator: fast path, fallback, line map, safety of the generated source."""

from __future__ import annotations

import pytest

import compiler.cel as cel
from compiler.cel import CelError
from compiler.cel.parser import MAX_DEPTH
from tests.cel.helpers import ERROR, agree

DECLS = {"metrics": "map(string, double)", "models": "list(string)",
         "limits": {"p95": "double"}, "count": "int"}


@pytest.fixture
def deopts(monkeypatch):
    """Count how often the fast path gives up."""
    calls = []
    import compiler.cel.codegen_base as codegen_base

    real = codegen_base.deopt

    def counting():
        calls.append(1)
        real()

    monkeypatch.setattr(codegen_base, "deopt", counting)  # as_double's way out
    monkeypatch.setitem(codegen_base._LOCAL, "_deopt", counting)
    return calls


def test_typed_expression_stays_on_the_fast_path(deopts):
    program = cel.compile("metrics.p95 <= limits.p95 && 'gpt-4o' in models && "
                          "models.exists(m, m.startsWith('claude')) && count + 1 > 1", DECLS)
    bindings = {"metrics": {"p95": 10.0}, "limits": {"p95": 20.0},
                "models": ["gpt-4o", "claude-3"], "count": 3}
    assert program.evaluate(bindings) is True
    assert deopts == []
    assert "_polc_loop" in program.source and "startswith" in program.source
    assert "for c_m" in program.source  # exists is a loop with early exit


def test_unexpected_types_fall_back_to_full_semantics(deopts):
    program = cel.compile("metrics.p95 <= limits.p95", DECLS)
    assert program.evaluate({"metrics": {"p95": cel.CelUint(10)}, "limits": {"p95": 20.0}}) \
        is True
    assert deopts  # a uint where a double was declared: generic path
    with pytest.raises(CelError) as caught:
        program.evaluate({"metrics": {"p95": "x"}, "limits": {"p95": 20.0}})
    assert caught.value.code == "POLC230" and "no such overload" in caught.value.message


def test_runtime_error_names_the_policy_span():
    program = cel.compile("count > 0 &&\n  metrics.p95 > 1.0", DECLS, file="rules/gates.rules",
                          line=12, column=9, name="promote")
    with pytest.raises(CelError) as caught:
        program.evaluate({"count": 1, "metrics": {}})
    err = caught.value
    assert (err.span.file, err.span.line, err.span.column) == ("rules/gates.rules", 13, 3)
    assert "no such key" in err.message


def test_error_inside_a_macro_names_the_inner_node():
    program = cel.compile("[1, 2].map(x, x / (x - 1))")
    with pytest.raises(CelError) as caught:
        program.evaluate({})
    assert caught.value.span.column == 15 and "division by zero" in caught.value.message


def test_generated_code_is_named_after_the_policy():
    program = cel.compile("1 / 0 == 1", file="rules/x.rules", name="g1")
    assert program.source.startswith("def evaluate(")
    import linecache
    assert linecache.getline("<polc:rules/x.rules#g1>", 1).startswith("def evaluate")


def test_user_text_reaches_the_source_only_as_literal_reprs():
    hostile = "__import__('os').system('true')"
    program = cel.compile(f"a.`x y` + {hostile!r} + b['k'] == \"\\\"); boom #\"",
                          backend="compiled")
    src = program.source
    assert "__import__('os')" not in src.replace(repr(hostile), "")
    assert "boom" not in src.replace(repr('"); boom #'), "")
    assert "'x y'" in src
    # identifiers are renamed, never copied: a variable called `evaluate` cannot clash
    assert cel.compile("evaluate + 1").evaluate({"evaluate": 1}) == 2
    assert cel.compile("_polc_generic", {"_polc_generic": "int"}).evaluate(
        {"_polc_generic": 5}) == 5


def test_constants_are_hoisted_and_regexes_compiled_once():
    program = cel.compile("[1u, double('inf')].size() == 2")
    assert "K0" in program.source and program.evaluate({}) is True


@pytest.mark.parametrize("expr", [
    " && ".join(["x"] * (MAX_DEPTH - 1)),                           # long left-deep chain
    "x && (" * (MAX_DEPTH - 2) + "x" + ")" * (MAX_DEPTH - 2),       # right-deep chain
    "x ? 1 : " * (MAX_DEPTH - 2) + "2",                             # else-if ladder
    "[" * (MAX_DEPTH - 2) + "1" + "]" * (MAX_DEPTH - 2),
    " || ".join(["[1].exists(a, a == 2)"] * 30),
    "[[[[[[1]]]]]]" + ".map(a, a.map(b, b.map(c, c.map(d, d.map(e, e.map(f, f))))))",
    "-" * (MAX_DEPTH - 1) + "1",
])
def test_deep_expressions_compile_and_agree(expr):
    result = agree(expr, {"x": True}, {"x": "bool"})
    assert not (isinstance(result, tuple) and result and result[0] is ERROR), result


def test_nested_comprehensions_twenty_five_deep():
    expr = "[1]" + "".join(f".all(v{i}, [1]" for i in range(25)) + ".all(z, true)" + ")" * 25
    assert agree(expr) is True


def test_deep_trees_need_no_change_to_the_recursion_limit():
    import sys
    before = sys.getrecursionlimit()
    expr = "x && (" * (MAX_DEPTH - 4) + "[x].exists(y, y)" + ")" * (MAX_DEPTH - 4)
    assert agree(expr, {"x": True}, {"x": "bool"}) is True
    assert sys.getrecursionlimit() == before


def test_compiling_from_a_deep_stack_is_a_diagnostic():
    def nest(depth):
        if depth:
            return nest(depth - 1)
        return cel.compile("x && (" * (MAX_DEPTH - 2) + "x" + ")" * (MAX_DEPTH - 2))
    with pytest.raises(CelError) as caught:
        nest(800)
    assert caught.value.code == "POLC203"


def test_both_paths_agree_on_error_absorption_with_declarations():
    decls = {"m": "map(string, int)"}
    assert agree("m.a > 1 || m.b > 1", {"m": {"b": 2}}, decls) is True
    assert agree("m.a > 1 && m.b > 1", {"m": {"b": 0}}, decls) is False
    assert agree("m.a > 1 && m.b > 1", {"m": {"b": 5}}, decls)[0] is ERROR
    assert agree("m.a + 1 > 0", {"m": {"a": 2**63 - 1}}, decls)[0] is ERROR


def test_json_integer_metric_against_double_stays_fast(deopts):
    program = cel.compile("metrics.p95 <= 2000.0 && metrics.p95 != limits.p95", DECLS)
    big = 2**53 + 1  # compared as a double, as CEL does
    for value, expected in ((1200, True), (1200.0, True), (2500, False), (big, False)):
        bindings = {"metrics": {"p95": value}, "limits": {"p95": 1.0}}
        assert program.evaluate(bindings) is expected
        assert cel.compile("metrics.p95 <= 2000.0 && metrics.p95 != limits.p95", DECLS,
                           backend="interp").evaluate(bindings) is expected
    assert deopts == []
    # arithmetic on an int declared double is a CEL error: leaves the fast path
    with pytest.raises(CelError):
        cel.compile("metrics.p95 * 2.0 > 1.0", DECLS).evaluate({"metrics": {"p95": 3}})
    assert deopts


def test_dotted_names_resolve_statically_when_checked_dynamically_when_not():
    bindings = {"a": {"b": 1}, "a.b": 2}
    assert agree("a.b + 0", bindings) == 2            # unchecked: the longest bound prefix
    for backend in ("interp", "compiled"):          # checked: what the declarations name
        assert cel.compile("a.b + 0", {"a": "map(string, int)"}, backend=backend) \
            .evaluate(bindings) == 1
        assert cel.compile("a.b + 0", {"a.b": "int"}, backend=backend).evaluate(bindings) == 2
        assert cel.compile("has(a.b)", {"a": "map(string, int)"}, backend=backend) \
            .evaluate({"a": {}, "a.b": 2}) is False


def test_untyped_programs_have_a_fast_path_too(deopts):
    program = cel.compile("m.p95 <= 2000.0 && l.exists(x, x.startsWith('c'))")
    assert program.evaluate({"m": {"p95": 100}, "l": ["a", "claude"]}) is True
    assert deopts == []
    assert "_polc_loop" in program.source
    generic_only = cel.compile("m.p95 <= 2000.0", optimize=False)
    assert generic_only.source.startswith("def evaluate(") and "_polc_loop" not in \
        generic_only.source and generic_only.evaluate({"m": {"p95": 1}}) is True
