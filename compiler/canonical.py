"""Canonical JSON, exactly RFC 8785 (JCS), and the content hash built on it.

Two encoders, one truth (docs/canonical-json.md):

* the fast path lets CPython's C JSON encoder do the work and then repairs, with C-speed
  byte operations, only the places where its output differs from JCS (float spelling,
  integers beyond 2^53 - 1);
* ``reference_json`` (``compiler.canonical_reference``) is a small, exact pure-Python
  encoder: the reference the tests compare the fast path against, the fallback for the
  rare inputs the fast path cannot handle exactly (characters above U+FFFF, non-string
  keys, anything the C encoder rejects), and the one
  that names the JSON path of a value it refuses.

>>> canonical_json({"b": [1.0, 1e-7, 1e21, -0.0], "a": "\\u00e9"})
b'{"a":"\\xc3\\xa9","b":[1,1e-7,1e+21,0]}'
>>> content_hash({})[:12]
'44136fa355b3'
"""

from __future__ import annotations

import hashlib
import json
import re
from itertools import compress, repeat
from typing import Any

from .canonical_reference import MAX_SAFE_INTEGER, CanonicalError, format_number, reference_json

__all__ = ["CanonicalError", "canonical_json", "content_hash", "reference_json", "format_number"]


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
#: Every escape (``\"``, ``\\``, ``\n``, ``\u00XX`` ...) is masked, left to right as JSON reads
#: them, with two 0x01 bytes: raw control bytes never occur in the encoder's output, and two
#: bytes for two keep every offset unchanged. Afterwards every '"' is a real string delimiter.
_ESCAPE = re.compile(rb"\\.", re.S)
_MASK = b"\x01\x01"
#: The "shape" of the masked text: digits and '-' become '0'; ':', ',' and '[' (what may precede
#: a value) become 0x03.
_SHAPE = bytes.maketrans(b"0123456789-:,[", b"00000000000\x03\x03\x03")
_SIXTEEN = b"0" * 16  # 2^53 has 16 digits: shorter integers are always safe
#: The first key of an object whose keys the C encoder coerced from int, float, bool or None.
#: Sorting a dict that mixes str and non-str keys raises TypeError, so such an object has only
#: coerced keys and its first one directly follows "{" (in the shape, every quote is real).
_COERCED_FIRST_KEY = re.compile(rb'\{"(?:0[0.e+]*|true|false|null)"\x03')
_INTEGRAL_FLOAT = re.compile(rb"\.0(?=[,\]}]|\Z)")  # on the masked text: needs real digits
_EXPONENT = re.compile(rb"0e[+0]0")


def _repair(data: bytes, obj: Any) -> bytes | None:
    """``data`` with Python's float spellings made ECMAScript's; None if the fast path cannot be exact.

    Candidates come from byte patterns on the "shape" (digits and '-' as '0'; ':', ',' and '[' as
    0x03, escaped quotes masked); a candidate counts only outside strings, which is decided
    by the parity of the real quotes before it.
    """
    masked = _ESCAPE.sub(_MASK, data) if b"\\" in data else data
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
    needle = b"\x03" + _SIXTEEN
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
    view = memoryview(data)  # slices of a view are not copies; join copies each byte once
    out, previous = [], 0
    for start, end, replacement in edits:
        out.append(view[previous:start])
        out.append(replacement)
        previous = end
    out.append(view[previous:])
    return b"".join(out)


_CONTAINER_TYPES = (dict, list, tuple)
_join = "".join


def _keys_are_strings(obj: Any) -> bool:
    """True when every dict key in ``obj`` is a str (the C encoder would coerce other keys).

    Runs only when some object's first key looks coerced (a number, true, false or null). The
    walk visits containers only; the per-element work (``"".join`` over the keys, ``map`` of
    ``isinstance`` and ``compress`` over the values) runs in C.
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
