"""CEL's standard functions: ``size``, string tests, ``matches``, conversions, ``type``.

``GLOBAL`` holds the functions callable as ``f(x, ...)``, ``MEMBER`` those callable as
``x.f(...)`` (the receiver is the first argument). Both evaluators call through
:func:`call`, so an unknown function is a runtime error value in both (the checker reports
it at compile time when declarations are given).

>>> call("size", None, ["héllo"]), call("startsWith", "claude-3", ["claude"])
(5, True)
>>> call("string", None, [1234567.0])
'1.234567e+06'
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from . import regex
from .semantics import CelErrorValue, cel_type, no_overload, type_name
from .timeutil import Duration, TimeError, Timestamp
from .values import INT64_MAX, INT64_MIN, UINT64_MAX, CelUint


def size(value) -> int:
    if isinstance(value, (str, bytes, list, tuple, dict)):
        return len(value)
    raise no_overload("size", value)


def _strings(name: str, a, b) -> None:
    if type(a) is not str or type(b) is not str:
        raise no_overload(name, a, b)


def contains(text, part) -> bool:
    _strings("contains", text, part)
    return part in text


def starts_with(text, prefix) -> bool:
    _strings("startsWith", text, prefix)
    return text.startswith(prefix)


def ends_with(text, suffix) -> bool:
    _strings("endsWith", text, suffix)
    return text.endswith(suffix)


def matches(text, pattern) -> bool:
    _strings("matches", text, pattern)
    return regex.search(pattern, text)


# --- conversions ---------------------------------------------------------------------------

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_UINT_TEXT = re.compile(r"\+?[0-9]+")
_DOUBLE_TEXT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
                          re.IGNORECASE)
_BOOL_TEXT = {"1": True, "t": True, "true": True, "TRUE": True, "True": True,
              "0": False, "f": False, "false": False, "FALSE": False, "False": False}


def to_int(value) -> int:
    kind = type_name(value)
    if kind in ("int", "uint"):
        if not INT64_MIN <= value <= INT64_MAX:
            raise CelErrorValue(f"range error: {kind} value does not fit in int")
        return int(value)
    if kind == "double":
        if not -9.223372036854775808e18 < value < 9.223372036854775808e18:
            raise CelErrorValue(f"range error: {value!r} does not fit in int")
        return int(value)
    if kind == "string":
        if not _INT_TEXT.fullmatch(value) or not INT64_MIN <= _whole(value) <= INT64_MAX:
            raise CelErrorValue(f"cannot convert {_shown(value)} to int")
        return int(value)
    if kind == "google.protobuf.Timestamp":
        return value.seconds
    raise no_overload("int", value)


def to_uint(value) -> CelUint:
    kind = type_name(value)
    if kind in ("int", "uint"):
        if not 0 <= value <= UINT64_MAX:
            raise CelErrorValue("range error: value does not fit in uint")
        return CelUint(value)
    if kind == "double":
        if not 0 <= value < 1.8446744073709552e19:
            raise CelErrorValue(f"range error: {value!r} does not fit in uint")
        return CelUint(int(value))
    if kind == "string":
        if not _UINT_TEXT.fullmatch(value) or _whole(value) > UINT64_MAX:
            raise CelErrorValue(f"cannot convert {_shown(value)} to uint")
        return CelUint(int(value))
    raise no_overload("uint", value)


def _whole(text: str) -> int:
    """The integer of decimal ``text`` (already matched), or one past the uint64 range when it
    has more digits than any 64-bit integer (Python refuses int() of over 4,300 digits)."""
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 20:
        return UINT64_MAX + 1 if not text.startswith("-") else INT64_MIN - 1
    return int(text)


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...") + f" ({len(text):,} characters)"


def to_double(value) -> float:
    kind = type_name(value)
    if kind in ("int", "uint", "double"):
        return float(value)
    if kind == "string":
        if not _DOUBLE_TEXT.fullmatch(value):
            raise CelErrorValue(f"cannot convert {_shown(value)} to double")
        return float(value)
    raise no_overload("double", value)


def to_string(value) -> str:
    kind = type_name(value)
    if kind == "string":
        return value
    if kind == "bool":
        return "true" if value else "false"
    if kind in ("int", "uint"):
        if not INT64_MIN <= value <= UINT64_MAX:  # only from an unchecked `dyn` value
            raise CelErrorValue("range error: the integer does not fit in 64 bits")
        return str(int(value))
    if kind == "double":
        return format_double(value)
    if kind == "bytes":
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise CelErrorValue("invalid UTF-8 in bytes converted to string") from None
    if kind in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        return str(value)
    raise no_overload("string", value)


def format_double(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 64)``, which cel-go uses for ``string(double)``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    exp10 = point - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:  # Go switches to exponent form from 1e+06 on
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if exp10 >= 0 else '-'}{abs(exp10):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def to_bytes(value) -> bytes:
    kind = type_name(value)
    if kind == "bytes":
        return value
    if kind == "string":
        return value.encode("utf-8")
    raise no_overload("bytes", value)


def to_bool(value) -> bool:
    kind = type_name(value)
    if kind == "bool":
        return value
    if kind == "string" and value in _BOOL_TEXT:
        return _BOOL_TEXT[value]
    if kind == "string":
        raise CelErrorValue(f"cannot convert {value!r} to bool")
    raise no_overload("bool", value)


def to_timestamp(value) -> Timestamp:
    try:
        if isinstance(value, Timestamp):
            return value
        if type_name(value) == "int":
            return Timestamp.from_seconds(value)
        if type(value) is str:
            return Timestamp.parse(value)
    except TimeError as err:
        raise CelErrorValue(str(err)) from None
    raise no_overload("timestamp", value)


def to_duration(value) -> Duration:
    try:
        if isinstance(value, Duration):
            return value
        if type(value) is str:
            return Duration.parse(value)
    except TimeError as err:
        raise CelErrorValue(str(err)) from None
    raise no_overload("duration", value)


def dyn(value):
    return value


GLOBAL = {
    "size": size, "matches": matches, "int": to_int, "uint": to_uint, "double": to_double,
    "string": to_string, "bytes": to_bytes, "bool": to_bool, "type": cel_type, "dyn": dyn,
    "timestamp": to_timestamp, "duration": to_duration,
}
MEMBER = {"size": size, "contains": contains, "startsWith": starts_with,
          "endsWith": ends_with, "matches": matches}
#: Number of arguments of each function, the receiver of a member call included.
ARITY = {name: 1 for name in GLOBAL} | {"matches": 2, "contains": 2, "startsWith": 2,
                                          "endsWith": 2}


def call(name: str, target, args: list):
    """Call ``name`` as ``target.name(args)`` (target not None) or ``name(args)``."""
    table = GLOBAL if target is None else MEMBER
    function = table.get(name.lstrip(".") if target is None else name)
    if function is None:
        raise CelErrorValue(f"unbound function `{name}`")
    full = args if target is None else [target, *args]
    if len(full) != ARITY[name.lstrip(".")]:
        raise CelErrorValue(f"no such overload: `{name}` with {len(args)} arguments")
    return function(*full)
