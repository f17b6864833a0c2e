"""Canonical JSON, exactly RFC 8785 (JCS), and the content hash built on it.

Two encoders, one truth (STYLE.md practice 8):

* the fast path lets CPython's C JSON encoder do the work and then repairs, with C-speed
  string operations, only the places where its output differs from JCS (float spelling,
  integers beyond 2^53);
* ``reference_json`` is a small, exact pure-Python encoder. It is the reference the tests
  compare the fast path against, the fallback for the rare inputs the fast path cannot
  handle exactly (keys outside the Basic Multilingual Plane, subclasses of the JSON
  types), and the one that names the JSON path of a value it refuses.

>>> canonical_json({"b": [1.0, 1e-7, 1e21, -0.0], "a": "\\u00e9"})
b'{"a":"\\xc3\\xa9","b":[1,1e-7,1e+21,0]}'
>>> content_hash({})[:12]
'44136fa355b3'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from itertools import compress, repeat
from typing import Any

__all__ = ["CanonicalError", "canonical_json", "content_hash", "reference_json", "format_number"]

#: The largest integer I-JSON (RFC 7493) allows: each integer up to it is exactly one double.
#: RFC 8785 §3.2.2.3 serializes every number as a double, so a larger integer could silently
#: change value (2^53 + 1 reads back as 2^53) or collide with another.
MAX_SAFE_INTEGER = 2 ** 53 - 1


class CanonicalError(ValueError):
    """A value that has no RFC 8785 form; ``path`` is where it is, e.g. ``$.budgets.cost``.

    >>> try:
    ...     canonical_json({"cost": {"hard_limit": float("nan")}})
    ... except CanonicalError as exc:
    ...     print(exc.path, "|", exc.reason)
    $.cost.hard_limit | NaN is not a JSON number
    """

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj`` (dict, list, tuple, str, int, float, bool, None).

    >>> canonical_json({"z": 1, "a": [True, None, 0.5, 100.0, 1e-5]})
    b'{"a":[true,null,0.5,100,0.00001],"z":1}'
    """
    try:
        text = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
        data = text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        # NaN, Infinity, an unsupported type, mixed key types, a lone surrogate (UnicodeEncodeError
        # is a ValueError): the reference encoder raises CanonicalError naming where.
        return reference_json(obj)
    if not text.isascii() and data.translate(None, _ALL_BUT_NON_BMP_LEADS):
        return reference_json(obj)  # a non-BMP character: UTF-16 key order may differ from code points
    repaired = _repair(data, obj)
    return reference_json(obj) if repaired is None else repaired


def content_hash(obj: Any) -> str:
    """The sha256 hex digest of ``canonical_json(obj)``: 64 lowercase hex characters."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


# --- the fast path: repairs on the C encoder's output ------------------------------------------
#
# Everything below works on the UTF-8 bytes with C-speed operations (bytes.translate, find,
# literal-prefixed regexes); Python code runs only per candidate, and candidates are rare
# (integral floats such as 5.0, exponents, 16+ digit runs, number-like keys).

#: Deleting every byte except the lead bytes of 4-byte UTF-8 sequences leaves something
#: exactly when the text has a character above U+FFFF.
_ALL_BUT_NON_BMP_LEADS = bytes(range(0xF0))
#: Raw control bytes never occur in the encoder's output (it escapes them), so they are free
#: to stand in for the escapes ``\\`` and ``\"``; two bytes each keeps every offset unchanged.
_MASKS = ((b"\\\\", b"\x01\x01"), (b'\\"', b"\x02\x02"))
#: The "shape" of the masked text: digits and '-' become '0', ',' and '[' become 0x03.
_SHAPE = bytes.maketrans(b"0123456789-,[", b"00000000000\x03\x03")
_SIXTEEN = b"0" * 16  # 2^53 has 16 digits: shorter integers are always safe
#: The first key of an object whose keys the C encoder coerced from int, float, bool or None.
#: Sorting a dict that mixes str and non-str keys raises TypeError, so such an object has only
#: coerced keys and its first one directly follows "{" (in the shape, every quote is real).
_COERCED_FIRST_KEY = re.compile(rb'\{"(?:0[0.e+]*|true|false|null)":')
_INTEGRAL_FLOAT = re.compile(rb"\.0(?=[,\]}]|\Z)")  # on the masked text: needs real digits
_EXPONENT = re.compile(rb"0e[+0]0")


def _repair(data: bytes, obj: Any) -> bytes | None:
    """``data`` with Python's float spellings made ECMAScript's; None if the fast path cannot be exact.

    Candidates come from byte patterns on the "shape" (digits and '-' as '0', ',' and '[' as
    0x03, escaped quotes masked); a candidate counts only outside strings, which is decided
    by the parity of the real quotes before it.
    """
    masked = data
    if b"\\" in data:
        for escape, mask in _MASKS:
            masked = masked.replace(escape, mask)
    shape = masked.translate(_SHAPE)
    if _COERCED_FIRST_KEY.search(shape) and not _keys_are_strings(obj):
        return None
    candidates = sorted([*((p + 1, _LONG_INT) for p in _long_integer_candidates(shape)),
                         *((m.start(), _INTEGRAL) for m in _INTEGRAL_FLOAT.finditer(masked)),
                         *((m.start() + 1, _EXPONENT_FLOAT) for m in _EXPONENT.finditer(shape))])
    edits: list[tuple[int, int, bytes]] = []
    quotes, counted_to = 0, 0
    for position, kind in candidates:
        quotes += masked.count(b'"', counted_to, position)
        counted_to = position
        if quotes % 2:
            continue  # inside a string
        if kind is _INTEGRAL:
            edits.append(_integral_float_edit(masked, position))
        elif kind is _EXPONENT_FLOAT:
            start, end = _token_start(masked, position), _token_end(masked, position)
            edits.append((start, end, format_number(float(masked[start:end])).encode("ascii")))
        elif _unsafe_integer(masked[position:_token_end(masked, position)]):
            return None
    return _apply(data, edits) if edits else data


_LONG_INT, _INTEGRAL, _EXPONENT_FLOAT = "int", "integral", "exponent"


def _integral_float_edit(masked: bytes, position: int) -> tuple[int, int, bytes]:
    """Drop the ".0" of "100.0" at ``position``; "-0.0" becomes "0" (ECMAScript has no -0)."""
    if masked[position - 2:position] == b"-0" and not masked[position - 3:position - 2].isdigit():
        return position - 2, position + 2, b"0"
    return position, position + 2, b""


def _unsafe_integer(token: bytes) -> bool:
    return token.lstrip(b"-").isdigit() and abs(int(token)) > MAX_SAFE_INTEGER


def _long_integer_candidates(shape: bytes):
    """Positions just before a run of 16+ digits that starts a number (the whole text may be one)."""
    if shape.startswith(_SIXTEEN):
        yield -1
    for lead in (b":", b"\x03"):
        needle = lead + _SIXTEEN
        position = shape.find(needle)
        while position >= 0:
            yield position
            position = shape.find(needle, position + 17)


_NUMBER_BYTES = frozenset(b"0123456789.+-e")


def _token_start(masked: bytes, position: int) -> int:
    while position > 0 and masked[position - 1] in _NUMBER_BYTES:
        position -= 1
    return position


def _token_end(masked: bytes, position: int) -> int:
    while position < len(masked) and masked[position] in _NUMBER_BYTES:
        position += 1
    return position


def _apply(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """``data`` with each (start, end) span replaced; the spans are sorted and disjoint."""
    out, previous = [], 0
    for start, end, replacement in edits:
        out.append(data[previous:start])
        out.append(replacement)
        previous = end
    out.append(data[previous:])
    return b"".join(out)


_CONTAINER_TYPES = (dict, list, tuple)
_join = "".join


def _keys_are_strings(obj: Any) -> bool:
    """True when every dict key in ``obj`` is a str (the C encoder would coerce other keys).

    Runs only when the output has a number-like key. The walk visits containers only; the
    per-element work (``"".join`` over keys, ``map(type, ...)``, ``compress``) runs in C.
    """
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            try:
                _join(node)  # a TypeError is the cheapest "some key is not a str"
            except TypeError:
                return False
            values = list(node.values())
        elif isinstance(node, (list, tuple)):
            values = node
        else:
            continue
        stack.extend(compress(values, map(isinstance, values, repeat(_CONTAINER_TYPES))))
    return True


# --- the reference encoder ---------------------------------------------------------------------

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
