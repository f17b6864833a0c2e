"""TOML front end: tomllib for the values, tomlspans for positions (tomlkit formats, in compiler/fmt.py).

>>> from compiler.sources import Source
>>> doc = parse_toml(Source("p.toml", None, 'a = [1, 2]\\n', "", 11))
>>> doc.data, str(doc.index.value(("a", 1)))
({'a': [1, 2]}, 'p.toml:1:9')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

from ..diagnostics import Diagnostic, Span
from ..canonical_reference import MAX_SAFE_INTEGER  # the one integer bound (I-JSON), re-exported
from ..errors import InputError
from ..sources import Source
from .tomlspans import TomlIndex, index_toml



@dataclass(frozen=True)
class TomlDocument:
    source: Source
    data: dict[str, Any]     # plain Python values (dict, list, str, int, float, bool, datetime)
    index: TomlIndex


def parse_toml(source: Source) -> TomlDocument:
    """Parse with the standard library's ``tomllib`` (linear in the size of the text; tomlkit, which
    keeps formatting, is used only by ``polc fmt``) and index every key and value's position."""
    import tomllib

    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source.rel}: invalid TOML", [_syntax_error(source, exc)]) from None
    except RecursionError:
        raise InputError(f"{source.rel}: invalid TOML", [_too_deep(source)]) from None
    except ValueError:  # an integer literal beyond Python's digit limit for str -> int
        raise InputError(f"{source.rel}: invalid TOML", [_long_number(source)]) from None
    if _depth(data) > MAX_DEPTH:
        raise InputError(f"{source.rel}: nested too deeply", [_too_deep(source)])
    return TomlDocument(source, data, index_toml(source.rel, source.text))


#: Policies are a few tables deep; deeper nesting is refused so later passes need no deep recursion.
MAX_DEPTH = 64

_POSITION = re.compile(r"^(?P<message>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$", re.S)


def _syntax_error(source: Source, exc: Exception) -> Diagnostic:
    """A diagnostic at the position tomllib names; a key or table defined twice is named."""
    m = _POSITION.match(str(exc))
    message = m.group("message") if m else str(exc)
    if message.startswith(("Cannot overwrite", "Cannot declare", "Cannot mutate")):
        positioned = _duplicate(source)
        if positioned is not None:
            return positioned
    if m and m.group("line"):
        span = Span(source.rel, int(m.group("line")), int(m.group("column")))
    else:  # at the end of the document
        lines = source.text.split("\n")
        span = Span(source.rel, len(lines), len(lines[-1]) + 1)
    text = message[0].lower() + message[1:] if message else "syntax error"
    return Diagnostic.error("POLC006", f"invalid TOML: {text}", span,
                            hint="see https://toml.io/en/v1.0.0 for the syntax; strings need quotes, tables need "
                                 "[brackets]")


def _duplicate(source: Source) -> Diagnostic | None:
    try:
        duplicates = index_toml(source.rel, source.text).duplicates
    except (ValueError, IndexError, RecursionError):
        return None
    if not duplicates:
        return None
    path, span = duplicates[0]
    name = ".".join(str(p) for p in path)
    return Diagnostic.error("POLC006", f"invalid TOML: `{name}` is defined twice", span,
                            hint="a key or table may be defined only once; remove or rename one of them")


def _too_deep(source: Source) -> Diagnostic:
    return Diagnostic.error("POLC006", f"invalid TOML: arrays or inline tables are nested more than {MAX_DEPTH} "
                            "levels deep", Span.whole_file(source.rel),
                            hint="a policy is a few tables deep; check for unclosed `[` or `{`")


def _long_number(source: Source) -> Diagnostic:
    m = re.search(r"[0-9_]{4000,}", source.text)
    span = Span.whole_file(source.rel)
    if m:
        line = source.text.count("\n", 0, m.start()) + 1
        span = Span(source.rel, line, m.start() - (source.text.rfind("\n", 0, m.start()) + 1) + 1)
    return Diagnostic.error("POLC006", "invalid TOML: an integer has more digits than can be read", span,
                            hint="policy numbers are limits and thresholds; canonical JSON holds integers up to 2^53")


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in ``value`` (iteratively: the input may be deep)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def walk(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) pair below ``value``, depth first, in document order."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, path + (i,))


def check_numbers(document: TomlDocument) -> list[Diagnostic]:
    """NaN, infinities and integers beyond ±(2^53 − 1) cannot be written as canonical JSON (RFC 8785)."""
    out = []
    for path, value in walk(document.data):
        if isinstance(value, bool):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            out.append(Diagnostic.error(
                "POLC150", f"`{_dotted(path)}` is {value}, which a policy snapshot cannot represent",
                document.index.value(path), hint="use a finite number; NaN and infinities are not allowed"))
        elif isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            out.append(Diagnostic.error(
                "POLC150", f"`{_dotted(path)}` is {value}, beyond ±{MAX_SAFE_INTEGER} (2^53 − 1)",
                document.index.value(path),
                hint="canonical JSON (RFC 8785, I-JSON) represents integers exactly only up to 2^53 − 1; "
                     "use a smaller value"))
    return out


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
