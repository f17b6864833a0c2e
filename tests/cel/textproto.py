"""A small reader for the protobuf text format (enough for the CEL conformance files).

No protobuf dependency: a message is a :class:`Msg`, an ordered list of (field, value)
pairs where a value is a nested Msg, ``bytes`` (a string literal, still undecoded; string
fields decode it as UTF-8), or a :class:`Scalar` (number, enum name, ``true``/``false``).

>>> m = parse_textproto('a: 1 b { c: "x\\\\101" } b { c: \\'y\\' }  # comment')
>>> m.get("a").text, [b.get("c") for b in m.all("b")]
('1', [b'xA', b'y'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFuU]?)
  | (?P<name>-?[A-Za-z_][A-Za-z0-9_.]*|\[[^\]]*\])
  | (?P<punct>[{}<>:;,\[\]])
""", re.VERBOSE)
_ESCAPE = re.compile(rb"\\(?:([abfnrtv\\'\"?])|x([0-9a-fA-F]{1,2})|([0-7]{1,3})"
                     rb"|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")
_SIMPLE = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t",
           b"v": b"\v", b"\\": b"\\", b"'": b"'", b'"': b'"', b"?": b"?"}


class TextprotoError(ValueError):
    pass


@dataclass(frozen=True)
class Scalar:
    """A number or identifier value, kept as its source text."""

    text: str


@dataclass
class Msg:
    fields: list[tuple[str, object]] = field(default_factory=list)

    def get(self, name: str, default=None):
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def all(self, name: str) -> list:
        return [value for key, value in self.fields if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.fields)


def _unescape(body: str) -> bytes:
    raw = body.encode("utf-8")

    def replace(match: re.Match) -> bytes:
        simple, hex_, octal, u4, u8 = match.groups()
        if simple:
            return _SIMPLE[simple]
        if hex_ or octal:
            return bytes([int(hex_, 16) if hex_ else int(octal, 8) & 0xFF])
        return chr(int(u4 or u8, 16)).encode("utf-8")

    return _ESCAPE.sub(replace, raw)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            line = text.count("\n", 0, pos) + 1
            raise TextprotoError(f"line {line}: unexpected {text[pos:pos + 20]!r}")
        if match.lastgroup != "ws":
            out.append((match.lastgroup, match.group()))
        pos = match.end()
    return out


def parse_textproto(text: str) -> Msg:
    tokens = _tokens(text)
    msg, pos = _message(tokens, 0, None)
    return msg


def _message(tokens, pos: int, close: str | None) -> tuple[Msg, int]:
    msg = Msg()
    while pos < len(tokens):
        kind, value = tokens[pos]
        if close is not None and value == close:
            return msg, pos + 1
        if kind != "name":
            raise TextprotoError(f"expected a field name, got {value!r}")
        pos += 1
        if tokens[pos][1] == ":":
            pos += 1
        item, pos = _value(tokens, pos)
        if isinstance(item, list):
            msg.fields.extend((value, v) for v in item)
        else:
            msg.fields.append((value, item))
        if pos < len(tokens) and tokens[pos][1] in (",", ";"):
            pos += 1
    if close is not None:
        raise TextprotoError(f"missing {close!r}")
    return msg, pos


def _value(tokens, pos: int):
    kind, value = tokens[pos]
    if value in ("{", "<"):
        return _message(tokens, pos + 1, "}" if value == "{" else ">")
    if value == "[":  # repeated scalars: `f: [1, 2]`
        items, pos = [], pos + 1
        while tokens[pos][1] != "]":
            item, pos = _value(tokens, pos)
            items.append(item)
            if tokens[pos][1] == ",":
                pos += 1
        return items, pos + 1
    if kind == "string":
        parts = []
        while pos < len(tokens) and tokens[pos][0] == "string":  # adjacent literals concatenate
            parts.append(_unescape(tokens[pos][1][1:-1]))
            pos += 1
        return b"".join(parts), pos
    return Scalar(value), pos + 1
