"""The expression IR (compiler/cel/ir.py): exact, canonical-JSON-safe, validated when read, linear in lets."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compiler.cel as cel
import compiler.cel.program  # noqa: F401 (cel.program.from_checked)
from compiler.canonical import canonical_json
from compiler.cel import CelUint
from compiler.cel.checker import Checker, check
from compiler.cel.ir import Decoder, Encoder, IRError, decode, decode_value, encode_value
from compiler.cel.parser import parse
from compiler.cel.types import parse_declarations
from tests.cel.conformance import load_cases

CASES = [c for c in load_cases() if not c.skip]


def _roundtrip(root, checked):
    encoder = Encoder()
    encoded = encoder.node(root, checked)
    types = encoder.finish()
    text = canonical_json({"node": encoded, "types": types})  # hashed like the snapshot: must not fail
    data = json.loads(text)
    return decode(data["node"], Decoder(data["types"]), file=root.span.file), encoded, types


@pytest.mark.parametrize("case", CASES, ids=[c.address for c in CASES])
def test_every_conformance_expression_survives_canonical_json_exactly(case):
    try:
        root = parse(case.expr)
    except cel.CelError:
        assert case.expect_error  # a syntax error case: nothing to encode
        return
    try:
        checked = check(root, case.declarations) if case.declarations is not None else None
    except cel.CelError:
        checked = None  # a case that expects a check error: its tree must still round-trip
    (decoded, facts), _, _ = _roundtrip(root, checked)
    assert decoded == root
    for old, new in zip(_nodes(root), _nodes(decoded)):
        assert (old.span.line, old.span.column, old.span.end_line, old.span.end_column) == \
               (new.span.line, new.span.column, new.span.end_line, new.span.end_column)
        if checked is not None:
            assert facts.type_of(new) == checked.type_of(old)
            assert facts.qualified.get(id(new)) == checked.qualified.get(id(old))


def _nodes(root):
    from compiler.cel import ast
    return list(ast.walk(root))


@pytest.mark.parametrize("value", [0, 1, -1, 2 ** 53 - 1, 2 ** 53, -(2 ** 63), 2 ** 63 - 1, CelUint(2 ** 64 - 1),
                                   CelUint(0), 0.1, -0.0, 1e308, 5e-324, math.inf, -math.inf, math.nan, "",
                                   "é\u20ac\U0001f600", b"\x00\xff", True, False, None])
def test_literals_are_exact_and_canonical(value):
    kind, encoded = encode_value(value)
    canonical_json([kind, encoded])
    back = decode_value(*json.loads(json.dumps([kind, encoded])))
    assert type(back) is type(value)
    assert back == value or (isinstance(value, float) and math.isnan(value) and math.isnan(back))
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2 ** 53 - 1:
        assert isinstance(encoded, str)  # beyond I-JSON's exact range: a decimal string


def test_type_indices_do_not_depend_on_encoding_order():
    declarations = parse_declarations({"a": "double", "b": "list(string)"})
    first, second = parse("a > 1.0"), parse("b.exists(x, x == 'y')")
    tables = []
    for order in ((first, second), (second, first)):
        encoder = Encoder()
        encoded = {id(root): encoder.node(root, check(root, declarations)) for root in order}
        tables.append((encoder.finish(), encoded[id(first)], encoded[id(second)]))
    assert tables[0] == tables[1]


X = ["id", 1, 1, 1, 2, 0, "x"]


@pytest.mark.parametrize("bad, fragment", [
    (["exec", 1, 1, 1, 2, 0, "x"], "unknown IR node"),
    (["id", 1, 1, 1, 2, 0, "os.system"], "bad name"),
    (["id", 1, 1, 1, 2, 9, "x"], "outside the type table"),
    (["id", -1, 1, 1, 2, 0, "x"], "bad position"),
    (["bin", 1, 1, 1, 2, 0, "**", *X, *X], "unknown binary"),
    (["bin", 1, 1, 1, 2, 0, "+", *X], "ends in the middle"),
    (["un", 1, 1, 1, 2, 0, "!", *X, *X], "after the end"),
    (["lit", 1, 1, 1, 2, 0, "int", 2 ** 64], "bad IR literal"),
    (["lit", 1, 1, 1, 2, 0, "double", 1.5], "bad IR literal"),
    (["let", 1, 1, 1, 2, 0, "x", 0], "not a let defined"),
    (["comp", 1, 1, 1, 2, 0, "loop", "x", False, *X, *X], "unknown macro"),
    (["comp", 1, 1, 1, 2, 0, "all", "x", True, *X, *X, *X], "unknown macro"),
    (["list", 1, 1, 1, 2, 0, -1], "bad IR count"),
    (["call", 1, 1, 1, 2, 0, "size", 1, 1, *X], "bad IR flag"),
    (["sel", 1, 1, 1, 2, 0, "a\nb", *X], "bad field name"),
    (["qsel", 1, 1, 1, 2, 0, "b", "a.b c", *X], "bad qualified name"),
    ("x", "not an IR expression"),
])
def test_malformed_nodes_are_refused_by_name(bad, fragment):
    with pytest.raises(IRError) as info:
        decode(bad, Decoder(["dyn"]), file="x.rules")
    assert fragment in str(info.value)


def test_nesting_beyond_the_parser_limit_is_refused():
    node = ["un", 1, 1, 1, 2, 0, "!"] * 150 + X
    with pytest.raises(IRError, match="deeper than"):
        decode(node, Decoder(["dyn"]), file="x.rules")


json_values = st.one_of(
    st.lists(st.one_of(st.none(), st.booleans(), st.integers(-2, 12), st.text(max_size=6),
                       st.sampled_from(["lit", "id", "sel", "qsel", "bin", "call", "comp", "list", "map", "un",
                                        "cond", "let", "has", "idx", "int", "double", "+", "==", "exists", "x",
                                        "y", "a.b"]),
                       st.lists(st.integers(0, 3), max_size=2)), max_size=40),
    st.recursive(st.integers(0, 3), lambda inner: st.lists(inner, max_size=4), max_leaves=10))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_decodes_to_a_tree_or_an_ir_error(data):
    try:
        root, _ = decode(data, Decoder(["dyn", "int", "bool"]), file="x.rules", lets=1)
    except IRError:
        return
    evaluate = cel.program.from_checked(root, None, backend="interp").evaluate
    try:
        evaluate({"x": 1, "y": [1]})
    except cel.CelError:
        pass


def test_lets_are_shared_so_a_doubling_chain_stays_linear():
    """``let a1 = a0 + a0``, ... thirty times: substituted, the last would be 2^30 nodes."""
    checker = Checker(parse_declarations({"a0": "int"}))
    for i in range(1, 31):
        checker.define_let(f"a{i}", parse(f"a{i - 1} + a{i - 1} - a{i - 1}", line=i))
    condition = parse("a30 == a0")
    checker.check(condition)
    assert checker.diagnostics == []
    encoder = Encoder()
    lets = [encoder.node(node, checker.result) for _, node in checker.result.lets]
    root = encoder.node(condition, checker.result)
    encoder.finish()
    assert len(json.dumps([lets, root])) < 20_000
    from compiler.cel.cost import estimate
    assert estimate(condition, types=checker.result) < 200
    for backend in ("interp", "compiled"):
        program = cel.program.from_checked(condition, checker.result, backend=backend)
        assert program.evaluate({"a0": 7}) is True
