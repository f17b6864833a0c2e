"""The type checker: errors with the span of the sub-expression and a hint."""

from __future__ import annotations

import pytest

import compiler.cel as cel
from compiler.cel import CelError
from compiler.cel.checker import check
from compiler.cel.types import parse_type

DECLS = {"metrics": "map(string, double)", "models": "list(string)", "name": "string",
         "limits": {"p95": "double", "tags": "list(string)", "nested": {"deep": "int"}},
         "count": "int", "extra": "dyn", "u": "uint"}


def check_error(expr, declarations=DECLS):
    with pytest.raises(CelError) as caught:
        cel.compile(expr, declarations)
    return caught.value


@pytest.mark.parametrize("expr, result", [
    ("metrics.p95 <= limits.p95", "bool"),
    ("count <= limits.p95", "bool"),          # int vs double compares (CEL converts)
    ("u < count", "bool"),
    ("models.exists(m, m.startsWith('claude'))", "bool"),
    ("models.map(m, size(m))", "list(int)"),
    ("models.filter(m, m != name)", "list(string)"),
    ("limits.nested.deep + 1", "int"),
    ("extra.anything.goes + 1", "dyn"),
    ("has(limits.p95)", "bool"),
    ("metrics['p95']", "double"),
    ("models[0]", "string"),
    ("name + '!'", "string"),
    ("count > 1 ? 'a' : 'b'", "string"),
    ("count > 1 ? 'a' : 1", "dyn"),
    ("dyn(name) == 1", "bool"),
    ("type(count) == int", "bool"),
    ("{'a': count}", "map(string, int)"),
    ("[1, 'a']", "list(dyn)"),
    ("dyn(metrics) == null", "bool"),
    ("'gpt-4o' in models", "bool"),
    ("'p95' in metrics", "bool"),
    ("double(count) * 2.0", "double"),
])
def test_well_typed(expr, result):
    program = cel.compile(expr, DECLS)
    assert repr(program.types.root_type) == result


@pytest.mark.parametrize("expr, code, span, fragment, hint", [
    ("metric.p95 > 1.0", "POLC210", (1, 1), "unknown name `metric`", "`metrics`"),
    ("limits.p99 > 1.0", "POLC211", (1, 1), "`limits` has no field `p99`", "`p95`"),
    ("count.x", "POLC211", (1, 1), "has no fields", None),
    ("metrics.p95 > '1'", "POLC213", (1, 1), "compares a double (`metrics.p95`) with a string", "convert"),
    ("count > 1 && name == 2", "POLC213", (1, 14), "compares a string (`name`) with an int", None),
    ("metrics == null", "POLC213", (1, 1), "with null", "nullable"),
    ("count.exists(x, x)", "POLC214", (1, 1), "needs a list or map, and `count` is an int", "macros"),
    ("models.all(m, m)", "POLC217", (1, 15), "predicate of `all` must be a bool", None),
    ("sizee(models)", "POLC212", (1, 1), "unknown function `sizee`", "`size`"),
    ("models.startsWith('a')", "POLC212", (1, 1), "no overload of `startsWith`", None),
    ("size(models, 1)", "POLC215", (1, 1), "takes 1 argument", None),
    ("name.contains()", "POLC215", (1, 1), "takes 1 argument", None),
    ("count + 1.0", "POLC213", (1, 1), "`+` cannot combine an int", "convert"),
    ("!count", "POLC213", (1, 2), "operand of `!`", None),
    ("1 in name", "POLC213", (1, 6), "`in` needs a list or map", None),
    ("1 in models", "POLC213", (1, 1), "cannot look for an int in a list(string)", None),
    ("models[name]", "POLC213", (1, 8), "list index", None),
    ("{1.5: 1}", "POLC213", (1, 2), "map keys", None),
    ("count ? 1 : 2", "POLC213", (1, 1), "condition of `?:`", None),
    ("matches(name)", "POLC215", (1, 1), "takes 2 argument", None),
])
def test_type_errors(expr, code, span, fragment, hint):
    err = check_error(expr)
    assert err.code == code, err
    assert (err.span.line, err.span.column) == span, err
    assert fragment in err.message, err
    if hint:
        assert hint in (err.hint or ""), err.hint


def test_unknown_identifier_without_declarations_is_still_a_runtime_error():
    program = cel.compile("x || true")           # unchecked: x is dyn
    assert program.evaluate({}) is True
    assert check_error("x || true", {}).code == "POLC210"


def test_expected_result_type():
    from compiler.cel.parser import parse
    from compiler.cel.types import BOOL
    with pytest.raises(CelError) as caught:
        check(parse("count + 1"), DECLS, expect=BOOL)
    assert caught.value.code == "POLC217"
    assert check(parse("count > 1"), DECLS, expect=BOOL).root_type == BOOL


@pytest.mark.parametrize("spec, text", [
    ("int", "int"), ("list(map(string, dyn))", "list(map(string, dyn))"), ("any", "dyn"),
    ({"a": "double", "b": {"c": "list(int)"}}, "{a: double, b: {c: list(int)}}"),
])
def test_declaration_language(spec, text):
    assert repr(parse_type(spec)) == text


@pytest.mark.parametrize("spec, fragment", [
    ("integer", "unknown type `integer`"), ("list(int", "expected `,` or `)`"),
    ("map(string)", "takes 2"), ("list(int) x", "unexpected `x`"), (3, "expected a type"),
    ("list", "expected `(`"), ("int$", "unexpected character"),
])
def test_bad_declarations(spec, fragment):
    err = check_error("x", {"x": spec})
    assert err.code == "POLC216" and fragment in err.message, err
