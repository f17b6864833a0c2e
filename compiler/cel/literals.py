"""Decoding CEL literal tokens: numbers (with range checks) and strings/bytes (with escapes).

>>> decode_string(r"'a\\x41\\u00e9'", None)
'aAé'
>>> decode_string('b"\\\\303\\\\277"', None)
b'\\xc3\\xbf'
>>> decode_number("UINT", "0x1Fu", None)
31u
"""

from __future__ import annotations

import re

from . import ast
from .errors import CelError
from .values import INT64_MAX, UINT64_MAX, CelUint

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?"}
_ESCAPE = re.compile(r"\\(?:([abfnrtv\\'\"`?])|[xX]([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})"
                     r"|U([0-9a-fA-F]{8})|([0-3][0-7]{2})|([\s\S]?))")


def decode_number(kind: str, text: str, span):
    """The value of an INT, UINT or DOUBLE token (an INT may be 2**63 until negated)."""
    if kind == "DOUBLE":
        return float(text)
    digits = text[:-1] if kind == "UINT" else text
    value = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits)
    if kind == "UINT":
        if value > UINT64_MAX:
            raise CelError("POLC202", f"uint literal `{text}` is out of range (max 2^64-1)", span)
        return CelUint(value)
    if value > INT64_MAX + 1:  # 2**63 is allowed only as the operand of unary minus
        raise CelError("POLC202", f"int literal `{text}` is out of range (max 2^63-1)", span,
                       hint="use a double (`1e19`) or a uint (`...u`)")
    return value


def check_int_literals(root: ast.Expr) -> None:
    """Refuse ``9223372036854775808`` left without a minus sign after minus folding."""
    for node in ast.walk(root):
        if (isinstance(node, ast.Literal) and type(node.value) is int
                and node.value > INT64_MAX):
            raise CelError("POLC202", f"int literal `{node.value}` is out of range (max 2^63-1)",
                           node.span, hint="use a double (`1e19`) or a uint (`...u`)")


def decode_string(token: str, span) -> str | bytes:
    """The value of a STRING token: prefixes ``r``/``b``, 1 or 3 quotes, escapes."""
    prefix_len = 0
    while token[prefix_len] in "rRbB":
        prefix_len += 1
    prefix = token[:prefix_len].lower()
    body = token[prefix_len:]
    quote = 3 if body[:3] in ('"""', "'''") and len(body) >= 6 else 1
    body = body[quote:-quote]
    is_bytes = "b" in prefix
    if "r" in prefix:
        return body.encode("utf-8") if is_bytes else body
    return _unescape_bytes(body, span) if is_bytes else _unescape_text(body, span)


def _unescape_text(body: str, span) -> str:
    if "\\" not in body:
        return body
    parts: list[str] = []
    pos = 0
    for match in _ESCAPE.finditer(body):
        parts.append(body[pos:match.start()])
        parts.append(_escape_value(match, span, as_bytes=False))
        pos = match.end()
    parts.append(body[pos:])
    return "".join(parts)


def _unescape_bytes(body: str, span) -> bytes:
    parts: list[bytes] = []
    pos = 0
    for match in _ESCAPE.finditer(body):
        parts.append(body[pos:match.start()].encode("utf-8"))
        parts.append(_escape_value(match, span, as_bytes=True))
        pos = match.end()
    parts.append(body[pos:].encode("utf-8"))
    return b"".join(parts)


def _escape_value(match: re.Match, span, *, as_bytes: bool):
    simple, hex2, uni4, uni8, octal, bad = match.groups()
    if simple is not None:
        return _SIMPLE_ESCAPES[simple].encode() if as_bytes else _SIMPLE_ESCAPES[simple]
    if hex2 is not None or octal is not None:
        code = int(hex2, 16) if hex2 is not None else int(octal, 8)
        # In bytes, \xHH and \ooo are octets; in strings they are code points (CEL spec).
        return bytes([code]) if as_bytes else chr(code)
    if uni4 is not None or uni8 is not None:
        code = int(uni4 or uni8, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise CelError("POLC202", f"`{match.group(0)}` is not a valid Unicode code point", span,
                           hint="surrogates and values above U+10FFFF are not characters")
        return chr(code).encode("utf-8") if as_bytes else chr(code)
    shown = match.group(0) if bad else "\\"
    raise CelError("POLC202", f"invalid escape sequence `{shown}` in a string literal", span,
                   hint=r"valid escapes: \n \t \r \" \' \\ \xHH \uHHHH \UHHHHHHHH \ooo; "
                        r"or use a raw string r'...'")
