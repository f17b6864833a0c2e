"""TOML front end: tomlkit for the values (and, later, formatting), tomlspans for positions.

>>> from compiler.sources import Source
>>> doc = parse_toml(Source("p.toml", None, 'a = [1, 2]\\n', "", 11))
>>> doc.data, str(doc.index.value(("a", 1)))
({'a': [1, 2]}, 'p.toml:1:9')
"""

from __future__ import annotations

import math
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
    import tomlkit
    from tomlkit.exceptions import ParseError, TOMLKitError

    try:
        data = tomlkit.parse(source.text).unwrap()
    except ParseError as exc:
        if "already exists" in str(exc):  # a table defined twice: name it and point at its header
            raise InputError(f"{source.rel}: invalid TOML", [_positioned(source, exc)]) from None
        message = str(exc).split(" at line ")[0]
        raise InputError(f"{source.rel}: invalid TOML", [Diagnostic.error(  # tomlkit's columns are 0-based
            "POLC006", f"invalid TOML: {message}", Span(source.rel, exc.line, exc.col + 1),
            hint="see https://toml.io/en/v1.0.0 for the syntax; strings need quotes, tables need [brackets]")]) from None
    except (TOMLKitError, ValueError, RecursionError) as exc:  # e.g. KeyAlreadyPresent carries no position
        raise InputError(f"{source.rel}: invalid TOML", [_positioned(source, exc)]) from None
    return TomlDocument(source, data, index_toml(source.rel, source.text))


def _positioned(source: Source, exc: Exception) -> Diagnostic:
    """A diagnostic for a TOML error tomlkit reports without a position (a key defined twice)."""
    try:
        duplicates = index_toml(source.rel, source.text).duplicates
    except (ValueError, IndexError, RecursionError):
        duplicates = []
    if duplicates:
        path, span = duplicates[0]
        name = ".".join(str(p) for p in path)
        return Diagnostic.error("POLC006", f"invalid TOML: `{name}` is defined twice", span,
                                hint="a key or table may be defined only once; remove or rename one of them")
    return Diagnostic.error("POLC006", f"invalid TOML: {exc}", Span.whole_file(source.rel))


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
