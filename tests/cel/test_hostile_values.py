"""Hostile values and constants: what both evaluators and the checker do with them.

Integers outside their declared range, a 5,000-digit number in a string, a value that contains
itself, constant parts that can only fail (folded by the rules language's checker), and a
chain of lets that doubles at every step (estimated and folded in linear time).
"""

from __future__ import annotations

import re

import pytest

import compiler.cel as cel
from compiler.cel import CelError
from compiler.cel.checker import Checker
from compiler.cel.cost import estimate
from compiler.cel.parser import parse
from compiler.cel.types import parse_declarations

EVALUATORS = [("interp", True), ("compiled", True), ("compiled", False)]  # (backend, optimize)
DECLARATIONS = {"n": "int", "u": "uint", "xs": "list(int)", "m": "map(string, {a: uint})", "d": "dyn"}
EXPR = "n >= 0 && u >= 0u && size(xs) >= 0 && size(m) >= 0"
GOOD = {"n": 2 ** 63 - 1, "u": cel.CelUint(2 ** 64 - 1), "xs": [-(2 ** 63)], "m": {"k": {"a": cel.CelUint(0)}}, "d": 2 ** 80}


@pytest.mark.parametrize("backend, optimize", EVALUATORS)
def test_integers_at_the_edges_of_their_range_are_accepted(backend, optimize):
    assert cel.compile(EXPR, DECLARATIONS, backend=backend, optimize=optimize).evaluate(GOOD) is True


@pytest.mark.parametrize("backend, optimize", EVALUATORS)
@pytest.mark.parametrize("change, fragment", [
    ({"n": 2 ** 80}, "`n` is 1208925819614629174706176, outside the int range (-2^63 to 2^63-1)"),
    ({"n": -(2 ** 63) - 1}, "`n` is -9223372036854775809, outside the int range"),
    ({"u": cel.CelUint(2 ** 64)}, "`u` is 18446744073709551616, outside the uint range (0 to 2^64-1)"),
    ({"xs": [1, 2 ** 63]}, "`xs[1]` is 9223372036854775808, outside the int range"),
    ({"m": {"k": {"a": cel.CelUint(-1)}}}, "`m['k'].a` is -1, outside the uint range"),
    ({"n": 10 ** 5000}, "`n` is an integer of about 5,001 digits, outside the int range"),
])
def test_integers_outside_their_declared_range_are_errors_at_the_first_use(backend, optimize, change, fragment):
    program = cel.compile(EXPR, DECLARATIONS, backend=backend, optimize=optimize)
    with pytest.raises(CelError) as caught:
        program.evaluate({**GOOD, **change})
    name = next(iter(change))
    assert caught.value.code == "POLC230" and fragment in caught.value.message
    assert caught.value.span.column == re.search(rf"\b{name}\b", EXPR).start() + 1  # the variable's first use


@pytest.mark.parametrize("backend, optimize", EVALUATORS)
def test_a_5000_digit_number_in_a_string_is_a_conversion_error(backend, optimize):
    program = cel.compile("int(t) > 0 || uint(t) > 0u", {"t": "string"}, backend=backend, optimize=optimize)
    with pytest.raises(CelError) as caught:
        program.evaluate({"t": "9" * 5000})
    assert caught.value.code == "POLC230" and "(5,000 characters) to int" in caught.value.message
    assert caught.value.span.column == 1  # `int(t)`: the failing call
    untyped = cel.compile("string(d)", backend=backend, optimize=optimize)  # a dyn value is not range-checked...
    with pytest.raises(CelError) as caught:  # ...but never ends in Python's int-to-text limit
        untyped.evaluate({"d": 10 ** 5000})
    assert "does not fit in 64 bits" in caught.value.message


@pytest.mark.parametrize("backend, optimize", EVALUATORS)
@pytest.mark.parametrize("expr", ["x == x", "x == [x]", "x in [x]", "size(x) > 0 && x != [1]"])
def test_a_list_that_contains_itself_is_a_cel_error(backend, optimize, expr):
    cyclic: list = []
    cyclic.append(cyclic)
    program = cel.compile(expr, {"x": "list(dyn)"}, backend=backend, optimize=optimize)
    try:
        program.evaluate({"x": cyclic})
    except CelError as err:
        assert err.code == "POLC230" and err.span.file == "<expr>"


# --- constant folding (the rules language's checker: Checker(fold_constants=True)) --------------------------

def _folded(expr: str, **declarations):
    checker = Checker(parse_declarations(declarations or {"x": "int", "s": "string"}), fold_constants=True)
    checker.check(parse(expr))
    return [(d.code, d.span.column, d.message) for d in checker.diagnostics]


@pytest.mark.parametrize("expr, column, fragment", [
    ("x > 1 / 0", 5, "can only fail: division by zero"),
    ("x > 9223372036854775807 + 1", 5, "integer overflow in `+`"),
    ("uint(x) > 0u - 1u", 11, "unsigned integer overflow in `-`"),
    ("s.matches('(')", 11, "invalid regular expression `(`: missing ): ("),
    ("s.matches('a{100000}')", 11, "invalid repetition size: {100000}"),
    ("s.matches('(a)\\\\1')", 11, "invalid regular expression `(a)\\1`: invalid escape sequence: \\1"),
    ("timestamp(x) < timestamp('9999-99-99T00:00:00Z')", 16, "invalid timestamp '9999-99-99T00:00:00Z'"),
    ("x > int('9' + '9999999999999999999')", 5, "cannot convert '99999999999999999999' to int"),
    ("x > [1, 2][2]", 5, "index out of bounds"),
    ("x > 0 || 1 / 0 > 0", 10, "division by zero"),  # this part can only fail, whatever x is
])
def test_constant_parts_that_can_only_fail_are_reported_where_they_fail(expr, column, fragment):
    found = _folded(expr)
    assert len(found) == 1 and found[0][:2] == ("POLC218", column) and fragment in found[0][2], found


@pytest.mark.parametrize("expr", [
    "true || 1 / 0 > 0", "false && 1 / 0 > 0", "x > 1 + 2", "s.matches('\\\\pL')", "s.matches(s)",
    "[1, 2][1] == x", "size('ab' + 'cd') == x", "1.0 / 0.0 > double(x)", "type(x) == int",
])
def test_folding_follows_cel_semantics(expr):
    assert _folded(expr) == []


def test_a_failing_let_is_reported_at_the_let_once():
    checker = Checker(parse_declarations({"x": "int"}), fold_constants=True)
    checker.define_let("bad", parse("1 / 0", line=1))
    checker.check(parse("x > bad", line=2))
    checker.check(parse("bad + 1 > x", line=3))
    assert [(d.code, d.span.line) for d in checker.diagnostics] == [("POLC218", 1)]


def test_compile_leaves_run_time_errors_to_run_time():
    program = cel.compile("1 / 0 > x", {"x": "int"})  # CEL: an evaluation error, not a compile error
    with pytest.raises(CelError) as caught:
        program.evaluate({"x": 1})
    assert caught.value.code == "POLC230"


# --- a chain of lets, each using the one before twice -------------------------------------------------------

def _chain(length: int, start: str):
    checker = Checker(parse_declarations({"x": "int", "s": "string"}), fold_constants=True)
    checker.define_let("a0", parse(start))
    for i in range(1, length + 1):
        checker.define_let(f"a{i}", parse(f"a{i - 1} + a{i - 1}"))
    root = parse(f"size(a{length}) > 0" if start.startswith("'") or start == "s" else f"a{length} > 0")
    checker.check(root)
    return checker, root


def test_a_doubling_chain_of_lets_costs_each_let_once():
    checker, root = _chain(40, "x")
    # 3 for the root, 1 for a0, 3 for each of the 40 lets (the `+` and its two references)
    assert estimate(root, types=checker.result) == 3 + 1 + 3 * 40
    assert checker.diagnostics == []


def test_the_size_of_a_doubling_string_chain_is_estimated_not_computed():
    checker, root = _chain(60, "s")
    memo: dict = {}
    for index, (_, node) in enumerate(checker.result.lets):  # as the rules checker does: one memo per gate
        estimate(node, types=checker.result, memo=memo)
    assert estimate(root, types=checker.result, memo=memo) > 2 ** 60  # over any cost limit


def test_folding_a_doubling_chain_of_constants_stays_bounded():
    checker, _ = _chain(60, "'ab'")  # 2^61 characters if folded to the end: folding stops at a size bound
    assert checker.diagnostics == []
