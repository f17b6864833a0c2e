"""Property tests: random input never crashes the front end, and the evaluators agree."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compiler.cel as cel
from compiler.cel import CelError, parse
from tests.cel.helpers import agree

cel.compile("1")  # raises the recursion limit now, not inside a hypothesis run (it warns)
SETTINGS = settings(max_examples=150, deadline=None,
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
