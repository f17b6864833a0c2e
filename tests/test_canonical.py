"""RFC 8785 canonical JSON: the RFC's own examples, refusals with paths, and the fast path
checked against the reference encoder and the rfc8785 package on random objects."""

from __future__ import annotations

import hashlib
import json
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.canonical import CanonicalError, canonical_json, content_hash, format_number, reference_json

# RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript spelling.
RFC_NUMBER_VECTORS = {
    "0000000000000000": "0", "8000000000000000": "0",
    "0000000000000001": "5e-324", "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308", "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992", "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22", "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000", "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7", "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332", "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333", "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "becbf647612f3696": "-0.0000033333333333333333", "43143ff3c1cb0959": "1424953923781206.2",
}


def both(obj) -> bytes:
    """canonical_json(obj), after checking the reference encoder agrees byte for byte."""
    fast = canonical_json(obj)
    assert fast == reference_json(obj)
    return fast


@pytest.mark.parametrize("bits,expected", sorted(RFC_NUMBER_VECTORS.items()))
def test_rfc8785_number_vectors(bits, expected):
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert format_number(value) == expected
    assert both([value]) == f"[{expected}]".encode()
    assert both({"n": value}) == f'{{"n":{expected}}}'.encode()


@pytest.mark.parametrize("value,expected", [
    (100.0, "100"), (5.0, "5"), (-0.0, "0"), (0.0, "0"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (1e16, "10000000000000000"), (1.5e16, "15000000000000000"), (1e-7, "1e-7"), (1e-6, "0.000001"),
    (1e-5, "0.00001"), (1.5e-5, "0.000015"), (0.0001, "0.0001"), (0.85, "0.85"), (-2.5e-8, "-2.5e-8"),
    (123e300, "1.23e+302"), (2.0 ** 60, "1152921504606847000"),
])
def test_ecmascript_number_formatting(value, expected):
    assert both(value) == expected.encode()


def test_rfc8785_section_3_2_2_example():
    obj = {"numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
           "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
           "literals": [None, True, False]}
    expected = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
                '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
    assert both(obj) == expected.encode("utf-8")


def test_rfc8785_key_sorting_by_utf16_code_units():
    obj = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
           "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control",
           "\u00f6": "Latin Small Letter O With Diaeresis"}
    out = both(obj).decode("utf-8")
    assert [k for k in json.loads(out)] == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert out.startswith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')


def test_minimal_string_escaping():
    text = "".join(chr(c) for c in range(0x20)) + '"\\/\x7f\u2028\u00e9'
    out = both(text).decode("utf-8")
    assert out == ('"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r'
                   '\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019'
                   '\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\"\\\\/\x7f\u2028\u00e9"')


def test_no_whitespace_and_utf8_output():
    assert both({"a": [1, {"b": None}], "é": "ü"}) == '{"a":[1,{"b":null}],"é":"ü"}'.encode("utf-8")


def test_number_like_text_inside_strings_is_left_alone():
    obj = {"s": "5.0", "t": "1e-07", "u": ":12345678901234567890,", "5.0": 1.0, "1e+16": "-0.0",
           'q"': 'x\\":5.0,"', "b\\": "\\", "list": ["[1e-07]", "a\\\\\":5.0}"], "n": -0.0}
    out = both(obj)
    parsed = json.loads(out)
    assert parsed["s"] == "5.0" and parsed["t"] == "1e-07" and parsed["u"] == ":12345678901234567890,"
    assert parsed["5.0"] == 1 and b'"5.0":1,' in out and b'"n":0,' in out
    assert parsed == {**obj, "5.0": 1, "n": 0}


def test_integer_limits():
    # The I-JSON range RFC 8785 relies on: every integer in it is exactly one double.
    assert both([2 ** 53 - 1, -(2 ** 53) + 1]) == b"[9007199254740991,-9007199254740991]"
    assert both({"s": 10 ** 15, "f": 2.0 ** 53}) == b'{"f":9007199254740992,"s":1000000000000000}'
    for big in (2 ** 53, -(2 ** 53), 2 ** 53 + 1, 2 ** 60, 10 ** 30):
        for where in ({"budgets": {"tokens": {"plan": big}}}, big, [big], [1, big], {"a": 1, "b": big}):
            with pytest.raises(CanonicalError, match="outside"):
                canonical_json(where)


@pytest.mark.parametrize("obj,path", [
    ({"budgets": {"cost": {"hard_limit": float("nan")}}}, "$.budgets.cost.hard_limit"),
    ({"a": [1, 2, float("inf")]}, "$.a[2]"),
    ([{"x": float("-inf")}], "$[0].x"),
    ({"gates": {"g": {"n": 2 ** 60}}}, "$.gates.g.n"),
    ({"a": {1: "one"}}, "$.a"),
    ({"a": {True: 1}}, "$.a"),
    ({None: 1}, "$"),
    ({1.5: 1}, "$"),
    ({"a": {"x": 1, 2: 3}}, "$.a"),
    ({"odd key": "\ud800"}, '$["odd key"]'),
    ({"\udfff": 1}, '$["\\udfff"]'),
    ({"a": {1, 2}}, "$.a"),
    ({"a": b"bytes"}, "$.a"),
    ({"a": [object()]}, "$.a[0]"),
])
def test_refusals_name_the_json_path(obj, path):
    with pytest.raises(CanonicalError) as info:
        canonical_json(obj)
    assert info.value.path == path
    assert isinstance(info.value, ValueError)


def test_deep_nesting_is_refused_not_a_crash():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(CanonicalError, match="nested"):
        canonical_json(deep)


def test_tuples_and_subclasses_are_accepted():
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Name(str):
        pass

    assert both({"t": (1, 2.0), Name("k"): Name("v"), "e": Level.HIGH}) == b'{"e":3,"k":"v","t":[1,2]}'


def test_content_hash_is_sha256_of_canonical_bytes():
    obj = {"b": 1.0, "a": [1e-7]}
    digest = content_hash(obj)
    assert digest == hashlib.sha256(b'{"a":[1e-7],"b":1}').hexdigest()
    assert len(digest) == 64 and digest == digest.lower()
    assert content_hash({"a": [1e-7], "b": 1}) == digest  # int 1 and float 1.0 are the same JSON number


# --- property-based: fast path == reference == rfc8785 ------------------------------------------

TRICKY_STRINGS = st.sampled_from([
    "", '"', "\\", '\\"', '\\\\"', "5.0", "-0.0", "1e-07", "1e+16", ":12345678901234567890", ",[9007199254740993",
    '{"1":', '{"true":', "true", "null", "e-05", "\x00", "\x1f", "\x7f", "\u2028", "\ue000", "\uffff",
    "\U0001f600", "\U00010000", "é", "a\nb", '":5.0,"', "0.0}", "[-0.0]",
])
STRINGS = st.one_of(TRICKY_STRINGS, st.text(max_size=12),
                    st.text(alphabet=st.sampled_from('"\\:,[]{}.0123456789e+-\n\U0001f600\ufb33'), max_size=10))
FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5.0, 100.0, 0.85, 1e16, 1e21, 1e20, 1e-5, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308,
                     -1e-5, 123456789012345680.0, 9007199254740993.0, 0.1, 1 / 3]),
)
SAFE = 2 ** 53 - 1  # I-JSON / JavaScript Number.MAX_SAFE_INTEGER
INTEGERS = st.one_of(st.integers(-SAFE, SAFE), st.sampled_from([SAFE, -SAFE, 10 ** 15, 0]))
SCALARS = st.one_of(st.none(), st.booleans(), INTEGERS, FLOATS, STRINGS)
JSON_LIKE = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(STRINGS, children, max_size=5)), max_leaves=40)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(JSON_LIKE)
def test_fast_path_equals_reference(obj):
    assert canonical_json(obj) == reference_json(obj)


def as_doubles(obj):
    """``obj`` as JSON numbers are in RFC 8785: every number a double, tuples as lists."""
    if isinstance(obj, dict):
        return {k: as_doubles(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_doubles(v) for v in obj]
    if isinstance(obj, int) and not isinstance(obj, bool):
        return float(obj)
    return obj


@PROPERTY
@given(JSON_LIKE)
def test_output_parses_back_to_an_equal_value(obj):
    assert json.loads(canonical_json(obj), parse_int=float) == as_doubles(obj)


@PROPERTY
@given(JSON_LIKE)
def test_output_is_its_own_canonical_form(obj):
    out = canonical_json(obj)
    assert canonical_json(json.loads(out, parse_int=float)) == out


@PROPERTY
@given(JSON_LIKE)
def test_agrees_with_the_rfc8785_package(obj):
    rfc8785 = pytest.importorskip("rfc8785")
    assert canonical_json(obj) == rfc8785.dumps(obj)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_float_round_trips_and_matches_reference(value):
    out = canonical_json([value])
    assert out == reference_json([value])
    assert float(json.loads(out)[0]) == value or (value == 0 and math.copysign(1, value) < 0)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(min_value=2 ** 53), st.integers(max_value=-(2 ** 53))), STRINGS)
def test_big_integers_are_always_refused(big, key):
    for where in ({key: [1.0, big]}, big, [big]):
        with pytest.raises(CanonicalError):
            canonical_json(where)


ANY_KEY = st.one_of(STRINGS, st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
                    st.booleans(), st.none())
WITH_ODD_KEYS = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(ANY_KEY, children, max_size=4)), max_leaves=25)


def has_non_str_key(obj) -> bool:
    if isinstance(obj, dict):
        return any(not isinstance(k, str) for k in obj) or any(has_non_str_key(v) for v in obj.values())
    if isinstance(obj, list):
        return any(has_non_str_key(v) for v in obj)
    return False


@PROPERTY
@given(WITH_ODD_KEYS)
def test_non_string_keys_are_never_silently_coerced(obj):
    if has_non_str_key(obj):
        with pytest.raises(CanonicalError, match="not a string"):
            canonical_json(obj)
    else:
        assert canonical_json(obj) == reference_json(obj)
