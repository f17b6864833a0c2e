"""The reference RFC 8785 encoder: a small, exact, pure-Python walk.

It is what ``compiler.canonical``'s fast path is tested against, the fallback for the inputs
the fast path cannot handle exactly, and the one that names the JSON path of a refused value.

>>> reference_json({"b": 1.0, "a": [1e-7, "\\u00e9"]})
b'{"a":[1e-7,"\\xc3\\xa9"],"b":1}'
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: The largest integer I-JSON (RFC 7493) allows: each integer up to it is exactly one double.
#: RFC 8785 §3.2.2.3 serializes every number as a double, so a larger integer could silently
#: change value (2^53 + 1 reads back as 2^53) or collide with another.
MAX_SAFE_INTEGER = 2 ** 53 - 1


class CanonicalError(ValueError):
    """A value that has no RFC 8785 form; ``path`` is where it is, e.g. ``$.budgets.cost``.

    >>> try:
    ...     reference_json({"cost": {"hard_limit": float("nan")}})
    ... except CanonicalError as exc:
    ...     print(exc.path, "|", exc.reason)
    $.cost.hard_limit | NaN is not a JSON number
    """

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def reference_json(obj: Any) -> bytes:
    r"""RFC 8785 bytes by a direct, exact walk; slow, and the reference for the fast path.

    Keys sort by UTF-16 code units, so U+1F600 (D83D DE00) comes before U+FB33:

    >>> print(ascii(reference_json({"\ufb33": 1, "\U0001f600": 2, "\r": 3}).decode()))
    '{"\\r":3,"\U0001f600":2,"\ufb33":1}'
    """
    out: list[str] = []
    try:
        _encode(obj, "$", out, 0)
    except RecursionError:
        raise CanonicalError("$", f"nested too deeply (more than about {_MAX_DEPTH} levels)") from None
    return "".join(out).encode("utf-8")


_MAX_DEPTH = 400  # each level costs up to two Python frames; stays under the default limit
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_ESCAPE_RE = re.compile(r'["\\\x00-\x1f]')
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _encode(obj: Any, path: str, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise CanonicalError(path, f"nested deeper than {_MAX_DEPTH} levels")
    if obj is None or obj is True or obj is False:
        out.append("null" if obj is None else "true" if obj else "false")
    elif isinstance(obj, str):
        out.append(_string(obj, path))
    elif isinstance(obj, int):
        if abs(obj) > MAX_SAFE_INTEGER:
            raise CanonicalError(path, f"integer {obj} is outside ±(2^53-1), the range a JSON number holds exactly")
        out.append(str(int(obj)))
    elif isinstance(obj, float):
        out.append(_number(obj, path))
    elif isinstance(obj, dict):
        _object(obj, path, out, depth)
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for index, item in enumerate(obj):
            if index:
                out.append(",")
            _encode(item, f"{path}[{index}]", out, depth + 1)
        out.append("]")
    else:
        raise CanonicalError(path, f"a {type(obj).__name__} has no JSON form "
                                   "(expected dict, list, tuple, str, int, float, bool or None)")


def _object(obj: dict, path: str, out: list[str], depth: int) -> None:
    for key in obj:
        if not isinstance(key, str):
            raise CanonicalError(path, f"object key {key!r} is a {type(key).__name__}, not a string")
    out.append("{")
    # RFC 8785 §3.2.3: order keys by their UTF-16 code units, not by code points.
    for index, key in enumerate(sorted(obj, key=_utf16_key)):
        if index:
            out.append(",")
        child = _child_path(path, key)
        out.append(_string(key, child))
        out.append(":")
        _encode(obj[key], child, out, depth + 1)
    out.append("}")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{json.dumps(key)}]"


def _string(value: str, path: str) -> str:
    if _SURROGATE_RE.search(value):
        raise CanonicalError(path, "string contains a lone surrogate, which has no UTF-8 form")
    return '"' + _ESCAPE_RE.sub(_escape, value) + '"'


def _escape(match: re.Match) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _number(value: float, path: str) -> str:
    if math.isnan(value):
        raise CanonicalError(path, "NaN is not a JSON number")
    if math.isinf(value):
        raise CanonicalError(path, f"{'-' if value < 0 else ''}Infinity is not a JSON number")
    return format_number(value)


def format_number(value: float) -> str:
    """ECMAScript Number::toString of a finite double (RFC 8785 §3.2.2.3).

    Python's ``repr`` already yields the shortest round-tripping digits; only the layout
    (where the point goes, when to use an exponent, how to spell it) differs.

    >>> [format_number(x) for x in (100.0, 1e21, 1e20, 1e-7, 0.000001, -0.0, 333333333.3333333)]
    ['100', '1e+21', '100000000000000000000', '1e-7', '0.000001', '0', '333333333.3333333']
    """
    value = float(value)
    if value == 0:
        return "0"
    sign, digits, point = _decimal_digits(value)
    k = len(digits)
    if k <= point <= 21:
        body = digits + "0" * (point - k)
    elif 0 < point <= 21:
        body = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        body = "0." + "0" * -point + digits
    else:
        exponent = point - 1
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        body = f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    return sign + body


def _decimal_digits(value: float) -> tuple[str, str, int]:
    """(sign, significant digits, n) with |value| = 0.digits * 10**n, from the shortest repr."""
    text = repr(value)
    sign = "-" if text.startswith("-") else ""
    mantissa, _, exponent = text.lstrip("-").partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    stripped = all_digits.lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(all_digits) - len(stripped))
    return sign, stripped.rstrip("0"), point
