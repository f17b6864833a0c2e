"""CEL operator semantics over plain Python values, shared by both evaluators.

Every function either returns a CEL value or raises :class:`CelErrorValue`; the evaluators
let ``&&``, ``||``, ``?:`` and the ``all``/``exists`` macros absorb such errors as the spec
requires. The compiled evaluator calls these same functions wherever types are not known
statically, so the two evaluators cannot drift apart.

>>> add(2, 3), eq(1, 1.0), lt(CelUint(1), 2.5)
(5, True, True)
>>> add(2**63 - 1, 1)
Traceback (most recent call last):
...
compiler.cel.semantics.CelErrorValue: integer overflow in `+`
"""

from __future__ import annotations

import math

from .timeutil import Duration, Timestamp
from .values import INT64_MAX, INT64_MIN, UINT64_MAX, CelType, CelUint


class CelErrorValue(Exception):
    """A CEL runtime error *value*: raised, and absorbed where CEL's logic absorbs errors.

    ``span`` is filled in by the evaluator at the innermost node that produced it.
    """

    def __init__(self, message: str, span=None):
        super().__init__(message)
        self.message = message
        self.span = span


class CostExceeded(CelErrorValue):
    """The runtime cost budget ran out; never absorbed by ``&&``/``||``."""


def no_overload(op: str, *args) -> CelErrorValue:
    kinds = ", ".join(type_name(a) for a in args)
    return CelErrorValue(f"no such overload: `{op}` on ({kinds})")


def type_name(value) -> str:
    """The CEL type name of a value (``bool`` is checked before ``int``: it is one in Python)."""
    cls = type(value)
    name = _TYPE_NAMES.get(cls)
    if name is not None:
        return name
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, CelUint):
        return "uint"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "map"
    raise CelErrorValue(f"unsupported value of Python type `{cls.__name__}`")


_TYPE_NAMES = {bool: "bool", CelUint: "uint", int: "int", float: "double", str: "string",
               bytes: "bytes", type(None): "null_type", list: "list", tuple: "list",
               dict: "map", CelType: "type", Timestamp: "google.protobuf.Timestamp",
               Duration: "google.protobuf.Duration"}
_NUMERIC = frozenset({"int", "uint", "double"})


def cel_type(value) -> CelType:
    return CelType(type_name(value))


# --- equality and ordering -----------------------------------------------------------------

def eq(a, b) -> bool:
    """CEL heterogeneous equality: numbers compare by value across int/uint/double."""
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        if ta in _NUMERIC and tb in _NUMERIC:
            return float(a) == float(b) if "double" in (ta, tb) else a == b
        return False
    if ta == "list":
        return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b))
    if ta == "map":
        return _map_eq(a, b)
    return a == b


def _map_eq(a: dict, b: dict) -> bool:
    from .containers import map_lookup  # containers builds on this module
    if len(a) != len(b):
        return False
    for key, value in a.items():
        found, other = map_lookup(b, key)
        if not found or not eq(value, other):
            return False
    return True


def ne(a, b) -> bool:
    return not eq(a, b)


_ORDERED = frozenset({"int", "uint", "double", "string", "bytes", "bool",
                      "google.protobuf.Timestamp", "google.protobuf.Duration"})
_FAST_ORDERED = frozenset({int, float, str})


def _ordered(op: str, a, b):
    """The operands made comparable, or no_overload. An int or uint compared with a double
    is converted to double first, as in cel-go (lossy near 2**63, and the suite expects it)."""
    ta, tb = type(a), type(b)
    if ta is tb and ta in _FAST_ORDERED:
        return a, b
    na, nb = type_name(a), type_name(b)
    if na in _NUMERIC and nb in _NUMERIC:
        if na == "double" or nb == "double":
            return float(a), float(b)
        return a, b
    if na != nb or na not in _ORDERED:
        raise no_overload(op, a, b)
    return a, b


def lt(a, b) -> bool:
    a, b = _ordered("<", a, b)
    return a < b


def le(a, b) -> bool:
    a, b = _ordered("<=", a, b)
    return a <= b


def gt(a, b) -> bool:
    a, b = _ordered(">", a, b)
    return a > b


def ge(a, b) -> bool:
    a, b = _ordered(">=", a, b)
    return a >= b


# --- arithmetic ----------------------------------------------------------------------------

def _int_result(value: int, op: str) -> int:
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise CelErrorValue(f"integer overflow in `{op}`")


def _uint_result(value: int, op: str) -> CelUint:
    if 0 <= value <= UINT64_MAX:
        return CelUint(value)
    raise CelErrorValue(f"unsigned integer overflow in `{op}`")


def _kinds(op: str, a, b) -> str:
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        if {ta, tb} <= {"google.protobuf.Timestamp", "google.protobuf.Duration"}:
            return "time"
        raise no_overload(op, a, b)
    return ta


def add(a, b):
    kind = _kinds("+", a, b)
    if kind == "int":
        return _int_result(a + b, "+")
    if kind == "uint":
        return _uint_result(a + b, "+")
    if kind == "double":
        return a + b
    if kind in ("string", "bytes"):
        return a + b
    if kind == "list":
        return list(a) + list(b)
    if kind in ("time", "google.protobuf.Duration"):
        return _time_arith(a, b, 1)
    raise no_overload("+", a, b)


def sub(a, b):
    kind = _kinds("-", a, b)
    if kind == "int":
        return _int_result(a - b, "-")
    if kind == "uint":
        return _uint_result(a - b, "-")
    if kind == "double":
        return a - b
    if kind in ("time", "google.protobuf.Duration", "google.protobuf.Timestamp"):
        return _time_arith(a, b, -1)
    raise no_overload("-", a, b)


def _time_arith(a, b, sign: int):
    try:
        return a + b if sign > 0 else a - b
    except (TypeError, OverflowError, ValueError):
        raise no_overload("+" if sign > 0 else "-", a, b) from None


def mul(a, b):
    kind = _kinds("*", a, b)
    if kind == "int":
        return _int_result(a * b, "*")
    if kind == "uint":
        return _uint_result(a * b, "*")
    if kind == "double":
        return a * b
    raise no_overload("*", a, b)


def div(a, b):
    kind = _kinds("/", a, b)
    if kind == "double":
        if b == 0.0:
            return math.copysign(math.inf, a) * math.copysign(1.0, b) if a != 0.0 and \
                not math.isnan(a) else math.nan
        return a / b
    if kind not in ("int", "uint"):
        raise no_overload("/", a, b)
    if b == 0:
        raise CelErrorValue("division by zero")
    quotient = abs(a) // abs(b)
    quotient = quotient if (a < 0) == (b < 0) else -quotient  # truncate toward zero, like Go
    return _int_result(quotient, "/") if kind == "int" else CelUint(quotient)


def mod(a, b):
    kind = _kinds("%", a, b)
    if kind not in ("int", "uint"):
        raise no_overload("%", a, b)
    if b == 0:
        raise CelErrorValue("modulus by zero")
    remainder = abs(a) % abs(b)
    remainder = -remainder if a < 0 else remainder  # the sign follows the dividend, like Go
    return remainder if kind == "int" else CelUint(remainder)


def neg(a):
    kind = type_name(a)
    if kind == "int":
        return _int_result(-a, "-")
    if kind == "double":
        return -a
    if kind == "google.protobuf.Duration":
        return -a
    raise CelErrorValue(f"no such overload: unary `-` on {kind}")


def not_(a):
    if a is True:
        return False
    if a is False:
        return True
    raise CelErrorValue(f"no such overload: `!` on {type_name(a)}")


def truth(value, op: str) -> bool:
    """``value`` as a condition of ``&&``, ``||``, ``?:`` or a macro predicate."""
    if value is True or value is False:
        return value
    raise CelErrorValue(f"no such overload: `{op}` needs a bool, got {type_name(value)}")
