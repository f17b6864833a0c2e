"""Property tests: random input never crashes the front end, and the evaluators agree."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compiler.cel as cel
from compiler.cel import CelError, parse
from tests.cel.helpers import agree

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
BINDINGS = {"x": 3, "y": "ab", "d": 2.5, "l": [1, 2, 3], "m": {"a": 1, "b": 0}, "t": True,
            "u": cel.CelUint(7), "n": None}
DECLS = {"x": "int", "y": "string", "d": "double", "l": "list(int)", "m": "map(string, int)",
         "t": "bool", "u": "uint", "n": "null_type"}
TOKENS = ["x", "y", "d", "l", "m", "t", "1", "0", "2.5", "1u", "'a'", "b'z'", "true", "null",
          "(", ")", "[", "]", "{", "}", ",", ":", ".", "?", "+", "-", "*", "/", "%", "!",
          "&&", "||", "==", "!=", "<", "<=", ">", ">=", "in", "size", "has", "exists", "all",
          "map", "filter", "exists_one", "contains", "int", "`q`", "'", '"', "\\", "\x00", "é"]


def _outcome(expr, backend, declarations=None):
    try:
        return cel.compile(expr, declarations, backend=backend).evaluate(BINDINGS)
    except CelError as err:
        return ("error", err.code)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_token_soup_never_crashes(tokens):
    text = " ".join(tokens)
    try:
        parse(text)
    except CelError as err:
        assert err.code.startswith("POLC2") and err.span is not None
        return
    agree(text, BINDINGS)
    for backend in ("interp", "compiled"):
        try:
            cel.compile(text, DECLS, backend=backend).evaluate(BINDINGS)
        except CelError:
            pass


@SETTINGS
@given(st.text(max_size=60))
def test_arbitrary_text_never_crashes(text):
    try:
        parse(text)
    except CelError:
        pass


LEAVES = st.sampled_from(["x", "y", "d", "l", "m", "t", "u", "n", "0", "1", "-1", "2.5",
                          "0.0", "1u", "'ab'", "''", "true", "false", "null", "[]", "{}",
                          "9223372036854775807", "-9223372036854775808", "m.a", "m.z", "l[0]",
                          "l[5]", "[1, 'a']", "{'a': 1}", "b'x'"])


def _extend(children):
    binary = st.tuples(children, st.sampled_from(
        ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "in"]), children)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"!{c}"),
        children.map(lambda c: f"-{c}"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.lists(children, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
        st.tuples(children, children).map(lambda t: f"{{'k': {t[0]}, 'j': {t[1]}}}"),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        children.map(lambda c: f"size({c})"),
        children.map(lambda c: f"type({c})"),
        children.map(lambda c: f"string({c})"),
        children.map(lambda c: f"int({c})"),
        children.map(lambda c: f"double({c})"),
        st.tuples(children, children).map(lambda t: f"{t[0]}.contains({t[1]})"),
        st.tuples(children, st.sampled_from(["all", "exists", "exists_one", "filter", "map"]),
                  children).map(lambda t: f"{t[0]}.{t[1]}(v, {t[2]})"),
        st.tuples(children, children).map(lambda t: f"{t[0]}.map(v, v == {t[1]}, v)"),
        children.map(lambda c: f"has({{'a': {c}}}.a)"),
        children.map(lambda c: f"dyn({c})"),
    )


EXPRESSIONS = st.recursive(LEAVES, _extend, max_leaves=12)


@SETTINGS
@given(EXPRESSIONS)
def test_evaluators_agree_on_well_formed_expressions(expr):
    agree(expr, BINDINGS)


@SETTINGS
@given(EXPRESSIONS)
def test_typed_programs_agree_with_the_interpreter(expr):
    try:
        typed = cel.compile(expr, DECLS, backend="compiled")
    except CelError:
        return  # rejected by the checker: nothing to compare
    expected = _outcome(expr, "interp")
    try:
        got = typed.evaluate(BINDINGS)
    except CelError as err:
        got = ("error", err.code)
    if isinstance(expected, tuple) and expected and expected[0] == "error":
        assert isinstance(got, tuple) and got[0] == "error", (expr, got)
    else:
        from tests.cel.conformance import same_value
        assert not (isinstance(got, tuple) and got and got[0] == "error"), (expr, got)
        assert same_value(got, expected), (expr, got, expected)


# --- well-typed expressions, to exercise the typed fast path against the interpreter -------

def _typed_expressions():
    ints = st.deferred(lambda: st.one_of(
        st.sampled_from(["x", "1", "-3", "0", "m.a", "m.z", "l[0]", "l[3]", "size(y)", "size(l)",
                         "9223372036854775807", "-9223372036854775808", "int(d)", "int(y)"]),
        st.tuples(ints, st.sampled_from(["+", "-", "*", "/", "%"]), ints).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        ints.map(lambda e: f"-{e}"),
        st.tuples(bools, ints, ints).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
    ))
    doubles = st.deferred(lambda: st.one_of(
        st.sampled_from(["d", "2.5", "0.0", "-1.5", "1e308", "double(x)", "double('nan')"]),
        st.tuples(doubles, st.sampled_from(["+", "-", "*", "/"]), doubles).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
    ))
    strings = st.deferred(lambda: st.one_of(
        st.sampled_from(["y", "'ab'", "''", "string(x)", "string(d)"]),
        st.tuples(strings, strings).map(lambda t: f"({t[0]} + {t[1]})"),
    ))
    numbers = st.one_of(ints, doubles)
    bools = st.deferred(lambda: st.one_of(
        st.sampled_from(["t", "true", "false", "has(m.a)", "has(m.q)"]),
        st.tuples(numbers, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), numbers).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(strings, st.sampled_from(["==", "<", "!="]), strings).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(bools, st.sampled_from(["&&", "||"]), bools).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        bools.map(lambda e: f"!{e}"),
        st.tuples(strings, strings).map(lambda t: f"{t[0]}.startsWith({t[1]})"),
        st.tuples(strings, strings).map(lambda t: f"{t[0]}.contains({t[1]})"),
        strings.map(lambda e: f"({e} in ['ab', 'x'])"),
        ints.map(lambda e: f"({e} in l)"),
        st.tuples(st.sampled_from(["all", "exists", "exists_one"]), ints).map(
            lambda t: f"l.{t[0]}(v, v * 2 > {t[1]})"),
        ints.map(lambda e: f"l.filter(v, v != {e}).exists(w, w / w == 1)"),
        ints.map(lambda e: f"(size(l.map(v, v + {e})) == 3)"),
    ))
    return st.one_of(bools, ints, doubles, strings)


TYPED_EXPRESSIONS = _typed_expressions()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TYPED_EXPRESSIONS.filter(lambda e: len(e) < 400), st.sampled_from([
    BINDINGS,
    {**BINDINGS, "x": 2**63 - 1, "d": -0.0, "l": [], "m": {"a": 0}},
    {**BINDINGS, "d": 7, "m": {"a": True}, "l": [1, 2.5, "x"]},       # declared types violated
    {**BINDINGS, "y": "ü", "x": -1},
]))
def test_well_typed_expressions_agree(expr, bindings):
    program = cel.compile(expr, DECLS)  # well-typed by construction: must check
    expected = _outcome_with(expr, "interp", None, bindings)
    try:
        got = program.evaluate(bindings)
    except CelError as err:
        got = ("error", err.code)
    from tests.cel.conformance import same_value
    if isinstance(expected, tuple) and expected and expected[0] == "error":
        assert isinstance(got, tuple) and got and got[0] == "error", (expr, got)
    else:
        assert same_value(got, expected), (expr, got, expected)


def _outcome_with(expr, backend, declarations, bindings):
    try:
        return cel.compile(expr, declarations, backend=backend).evaluate(bindings)
    except CelError as err:
        return ("error", err.code)
