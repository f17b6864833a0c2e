"""CEL semantics, checked through both evaluators at once (see helpers.agree)."""

from __future__ import annotations

import math

import pytest

from compiler.cel import CelUint
from compiler.cel.functions import format_double
from compiler.cel.values import CelType
from tests.cel.helpers import ERROR, agree

E = ERROR


@pytest.mark.parametrize("expr, expected", [
    # error absorption is commutative
    ("false && (1 / 0 == 1)", False), ("(1 / 0 == 1) && false", False),
    ("true || (1 / 0 == 1)", True), ("(1 / 0 == 1) || true", True),
    ("(1 / 0 == 1) && true", E), ("true && 'x'", E), ("false || 1", E),
    ("(1 / 0 == 1) ? 1 : 2", E), ("true ? 1 : 1 / 0", 1), ("false ? 1 / 0 : 2", 2),
    # numbers
    ("9223372036854775807 + 1", E), ("-9223372036854775808 - 1", E),
    ("-(-9223372036854775808)", E), ("9223372036854775807 * 2", E),
    ("-9223372036854775808 / -1", E), ("7 / -2", -3), ("-7 % 3", -1), ("7 % -3", 1),
    ("1 / 0", E), ("1 % 0", E), ("1.0 / 0.0", math.inf), ("0u - 1u", E),
    ("18446744073709551615u + 1u", E), ("3u / 2u", CelUint(1)), ("1 + 1u", E),
    ("1 + 1.0", E), ("2.5 * 2.0", 5.0), ("-0.0", -0.0),
    # heterogeneous equality and ordering
    ("1 == 1.0", True), ("1u == 1", True), ("1 == true", False), ("'1' == 1", False),
    ("1u < 2", True), ("2.5 > 2", True), ("null == null", True), ("[1, 2] == [1.0, 2u]", True),
    ("{'a': 1} == {'a': 1.0}", True), ("{1: 'a'} == {1u: 'a'}", True), ("'a' < 'b'", True),
    ("b'a' < b'b'", True), ("false < true", True), ("1 < 'a'", E), ("[1] < [2]", E),
    ("double('nan') == double('nan')", False),
    # containers
    ("2 in [1, 2]", True), ("2.0 in [1, 2]", True), ("'a' in {'a': 1}", True),
    ("1.0 in {1: 'x'}", True), ("1.5 in {1: 'x'}", False), ("true in {1: 'x'}", False),
    ("[1, 2][1]", 2), ("[1, 2][2]", E), ("[1, 2][-1]", E), ("[1, 2][1u]", 2),
    ("{'a': 1}['b']", E), ("{'a': {'b': 2}}.a.b", 2), ("{1u: 2}[1]", 2),
    ("{'a': 1, 'a': 2}", E), ("{[1]: 2}", E), ("[1] + [2]", [1, 2]),
    ("size({'a': 1, 'b': 2})", 2), ("has({'a': 1}.a)", True), ("has({'a': 1}.b)", False),
    ("has(1.a)", E),
    # strings and functions
    ("size('héllo')", 5), ("size(b'h\\xc3\\xa9')", 3), ("'abc'.contains('b')", True),
    ("'abc'.startsWith('ab')", True), ("'abc'.endsWith('bc')", True), ("'a' + 'b'", "ab"),
    ("'abc'.matches('^a.c$')", True), ("'a\\n'.matches('a$')", False),
    ("'٣'.matches('\\\\d')", False), ("'x'.matches('(a)\\\\1')", E), ("'x'.matches('[')", E),
    ("'ab'.matches('(?i)AB')", True), ("'x'.matches('(?=x)')", E),
    # RE2 itself: what Python's re lacks works, what RE2 refuses is an error, nothing backtracks
    ("'héllo'.matches('^\\\\pL+$')", True), ("'aB'.matches('a(?i)b')", True),
    ("'5'.matches('[\\\\d\\\\W]')", True), ("'a'.matches('[\\\\d\\\\W]')", False),
    ("'é'.matches('\\\\w')", False), ("'x'.matches('a{100000}')", E), ("'x'.matches('(?P=n)')", E),
    (f"'{'a' * 60}!'.matches('(a+)+$')", False), (f"'{'a' * 60}!'.matches('(a|aa)+$')", False),
    (f"'{'ab ' * 30}!'.matches('^(\\\\w+\\\\s?)*$')", False),
    ("int('12')", 12), ("int(' 12')", E), ("int('1_0')", E), ("uint('-1')", E),
    ("double('1e3')", 1000.0), ("double('inf')", math.inf), ("double('1_0')", E),
    ("string(1.0)", "1"), ("string(1e21)", "1e+21"), ("string(0.0001)", "0.0001"),
    ("string(0.00001)", "1e-05"), ("string(true)", "true"), ("string(b'\\xff')", E),
    ("bytes('é')", b"\xc3\xa9"), ("bool('True')", True), ("bool('yes')", E),
    ("type(1) == int", True), ("type(1u)", CelType("uint")), ("type([]) == list", True),
    ("dyn(1) + 1", 2), ("int(2.9)", 2), ("int(-2.9)", -2), ("uint(2.9)", CelUint(2)),
    ("int(1e19)", E), ("unknown_fn(1)", E), ("unknown_fn(1) || true", True),
    ("'a'.size()", 1), ("size('a', 'b')", E), ("1.size()", E),
    # macros
    ("[1, 2, 3].all(x, x > 0)", True), ("[1, 2, 3].exists(x, x > 2)", True),
    ("[1, 2, 3].exists_one(x, x > 1)", False), ("[1, 2, 3].map(x, x * 2)", [2, 4, 6]),
    ("[1, 2, 3].map(x, x > 1, x * 10)", [20, 30]), ("[1, 2, 3].filter(x, x != 2)", [1, 3]),
    ("{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])", True), ("[0, -1].all(x, 1 / x > 0)", False),
    ("[1, 0].exists(x, 1 / x > 0)", True), ("[0, 1].exists(x, 1 / x < 0)", E),
    ("[1, 0].exists_one(x, 1 / x > 0)", E), ("1.all(x, true)", E),
    ("[[1, 2], [3]].map(l, l.map(x, x + 1))", [[2, 3], [4]]),
    ("[1, 2].exists(x, [3, 4].exists(x, x == 4))", True),
    # time
    ("timestamp('2004-09-16T23:59:59Z') + duration('1s') == timestamp(1095379200)", True),
    ("duration('1h') > duration('59m')", True), ("string(duration('1.5s'))", "1.5s"),
    ("timestamp('bad')", E), ("int(timestamp('1970-01-01T00:01:00Z'))", 60),
])
def test_expression(expr, expected):
    result = agree(expr)
    if expected is E:
        assert isinstance(result, tuple) and result[0] is ERROR, result
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected and type(result) is type(expected), result
        if isinstance(expected, float) and expected == 0:
            assert math.copysign(1, result) == math.copysign(1, expected)


@pytest.mark.parametrize("bindings, expected", [
    ({"m": {"p95": 100.0}, "l": 200.0}, True),
    ({"m": {"p95": 100}, "l": 200.0}, True),          # a JSON int metric vs a double limit
    ({"m": {"p95": 300}, "l": 200}, False),
    ({"m": {}, "l": 200.0}, E),
    ({"m": {"p95": "100"}, "l": 200.0}, E),
    ({"m": {"p95": True}, "l": 200.0}, E),
    ({"l": 200.0}, E),
])
def test_bindings_through_typed_and_untyped_programs(bindings, expected):
    result = agree("m.p95 <= l", bindings, {"m": "map(string, double)", "l": "double"})
    assert result == expected if expected is not E else result[0] is ERROR


def test_qualified_names_prefer_the_longest_binding():
    bindings = {"a.b.c": "yes", "a.b": {"c": "no"}, "a": {"b": {"c": "no"}}}
    assert agree("a.b.c", bindings) == "yes"
    assert agree("a.b.c", {"a.b": {"c": "mid"}}) == "mid"
    assert agree("has(a.b.c)", {"a.b": {"c": 1}}) is True
    assert agree("[1].exists(a, a == 1)", {"a": 5}) is True  # macro variables shadow


def test_bool_and_int_keys_stay_apart():
    assert agree("m[1]", {"m": {True: "t"}})[0] is ERROR
    assert agree("m[true]", {"m": {1: "one"}})[0] is ERROR
    assert agree("m[1.0]", {"m": {1: "one"}}) == "one"


@pytest.mark.parametrize("value, text", [
    (123.456, "123.456"), (-4.5e-3, "-0.0045"), (1e6, "1e+06"), (123456.0, "123456"),
    (1.5e-7, "1.5e-07"), (0.0, "0"), (-0.0, "-0"), (math.inf, "+Inf"), (math.nan, "NaN"),
])
def test_double_formatting_matches_go(value, text):
    assert format_double(value) == text


def test_result_types_are_plain_python():
    assert type(agree("1u")) is CelUint and repr(agree("1u")) == "1u"
    assert agree("{'a': [1, b'x', null, 1.5, true]}") == {"a": [1, b"x", None, 1.5, True]}
