"""Binding runtime values to declared types: checked, JSON ints made doubles, paths named.

>>> from compiler.cel.types import STRING, DOUBLE, map_of
>>> bind({"p95": 1800}, map_of(STRING, DOUBLE), "metrics")
{'p95': 1800.0}
>>> try:
...     bind({"p95": "fast"}, map_of(STRING, DOUBLE), "metrics")
... except BindError as err:
...     print(err.path, err.detail)
metrics.p95 is a string ("fast"), expected a number
"""

from __future__ import annotations

from typing import Any, Mapping

from ..canonical_reference import MAX_SAFE_INTEGER
from ..cel.types import Type as T
from ..spelling import spell

INT64_MIN, INT64_MAX, UINT64_MAX = -(2 ** 63), 2 ** 63 - 1, 2 ** 64 - 1

class BindError(ValueError):
    """A runtime value does not have its declared type; ``path`` names it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


def bind(value: Any, t: T, path: str, *, strict: bool = False) -> Any:
    """``value`` checked against ``t`` (JSON ints become doubles where a double is declared).

    Mappings and tuples (a deep-frozen snapshot) come back as plain dicts and lists. With
    ``strict``, every field an object type declares must be present (gate inputs); without,
    missing fields are left for ``has()`` to test (snapshots of older schemas). An ``int``
    must fit in 64 bits and a ``uint`` in 64 unsigned bits (CEL's ranges); a ``uint`` comes
    back as :class:`compiler.cel.values.CelUint`. A value that contains itself, or nests
    deeper than Python's stack, is refused, never a ``RecursionError``.
    """
    try:
        try:
            return _fast(value, t, strict)
        except (_Slow, OverflowError):  # something is off: redo it with paths, to name what
            return _bind(value, t, path, strict)
    except RecursionError:
        raise BindError(path, "nests too deeply (does it contain itself?)") from None


class _Slow(Exception):
    pass


_SLOW = _Slow()


def _fast(value: Any, t: T, strict: bool) -> Any:
    """``bind`` without path bookkeeping, for values that are right (the common case)."""
    kind, tv = t.kind, type(value)
    if value is None:
        if t.nullable or kind in ("dyn", "null_type"):
            return None
        raise _SLOW
    if kind == "double":
        if tv is float:
            return value
        if tv is int:
            return float(value)
    elif kind == "map" and (tv is dict or isinstance(value, Mapping)):
        vt = t.params[1]
        if vt.kind == "double":
            out = {}
            for key, item in value.items():
                ti = type(item)
                if ti is float:
                    out[key] = item
                elif ti is int:
                    out[key] = float(item)
                else:
                    raise _SLOW
            return out
        return {key: _fast(item, vt, strict) for key, item in value.items()}
    elif kind == "object" and (tv is dict or isinstance(value, Mapping)):
        fields = dict(t.fields)
        out = {key: (_fast(item, fields[key], strict) if key in fields else thaw(item)) for key, item in value.items()}
        if strict and any(key not in out and not ft.nullable for key, ft in t.fields):
            raise _SLOW
        return out
    elif kind == "list" and (tv is list or tv is tuple):
        elem = t.params[0]
        return [_fast(item, elem, strict) for item in value]
    elif kind in ("string", "bool", "bytes"):
        if tv is {"string": str, "bool": bool, "bytes": bytes}[kind]:
            return value
    elif kind == "int" and tv is int:
        if INT64_MIN <= value <= INT64_MAX:
            return value
    elif kind == "dyn":
        return thaw(value) if tv is dict or tv is list or tv is tuple or isinstance(value, Mapping) else value
    raise _SLOW


def _bind(value: Any, t: T, path: str, strict: bool) -> Any:
    if value is None:
        if t.nullable or t.kind in ("dyn", "null_type"):
            return None
        raise BindError(path, f"is null, expected {t}")
    kind = t.kind
    if kind == "dyn":
        return thaw(value)
    if kind == "double":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # a JSON integer beyond 1.8e308: fail closed, not crash
                raise BindError(path, f"is {_describe(value)}, too large for a double") from None
        raise BindError(path, f"is {_describe(value)}, expected a number")
    if kind in ("int", "uint"):
        return _integer(value, kind, path)
    simple = {"bool": bool, "string": str, "bytes": bytes}
    if kind in simple:
        if isinstance(value, simple[kind]):
            return value
        raise BindError(path, f"is {_describe(value)}, expected {kind}")
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise BindError(path, f"is {_describe(value)}, expected a list")
        return [_bind(v, t.params[0], f"{path}[{i}]", strict) for i, v in enumerate(value)]
    if not isinstance(value, Mapping):
        raise BindError(path, f"is {_describe(value)}, expected a map")
    if kind == "map":
        return {k: _bind(v, t.params[1], _join(path, k), strict) for k, v in value.items()}
    return _bind_object(value, t, path, strict)


def _integer(value: Any, kind: str, path: str) -> int:
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or (kind == "uint" and value < 0):
        raise BindError(path, f"is {_describe(value)}, expected {'an integer' if kind == 'int' else 'an unsigned integer'}")
    low, high, shown = (INT64_MIN, INT64_MAX, "-2^63 to 2^63-1") if kind == "int" else (0, UINT64_MAX, "0 to 2^64-1")
    if not low <= value <= high:
        raise BindError(path, f"is {_describe(value)}, outside the {kind} range ({shown})")
    if kind == "uint":
        from ..cel.values import CelUint
        return CelUint(value)
    return value


def _bind_object(value: Mapping, t: T, path: str, strict: bool) -> dict:
    fields = dict(t.fields)
    out = {}
    for key, item in value.items():
        ft = fields.get(key)
        out[key] = _bind(item, ft, _join(path, key), strict) if ft is not None else thaw(item)
    if strict:
        for key, ft in t.fields:
            if key not in out and not ft.nullable:
                raise BindError(_join(path, key), f"is missing (expected {ft})")
    return out


def thaw(value: Any) -> Any:
    """Plain dicts and lists for Mappings and tuples (the runtime's snapshot is deep-frozen)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{spell(key)}]"


def _describe(value: Any) -> str:
    """What an input value is, in the words of a gate's types, spelled as JSON/CEL writes it:
    ``a bool (true)``, ``a string ("fast")``, never Python's ``True`` or ``'fast'``."""
    names = {bool: "a bool", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a map", bytes: "bytes"}
    kind = names.get(type(value), f"a value of type {type(value).__name__}")
    if isinstance(value, (bool, int, float, str)):
        shown = spell(value, limit=40)
        return shown if shown.startswith(kind) else f"{kind} ({shown})"  # a huge int spells itself
    return kind
