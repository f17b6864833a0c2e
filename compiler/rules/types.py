"""Types of the things rules read: declared inputs, gate ``params``, the snapshots ``old``/``new``.

A type is a frozen :class:`T`. Objects (``kind="object"``) have known fields, so a typo in
``new.budgets.cots`` is a compile-time error; maps have a key and a value type; ``dyn`` is
unchecked. Types come from three places:

* declarations in a gate: ``input metrics: map(string, double)`` (:func:`from_ref`);
* the gate's parameter table in model_policy.toml (:func:`params_type`): numbers are ``double``;
* the snapshot's JSON Schema (:func:`from_schema`): ``number`` is ``double``, ``integer`` is ``int``.

:func:`bind` checks a runtime value against its type, turning JSON integers into doubles where
a double is declared, and names the path of a missing or mistyped value.

>>> str(params_type({"p95_latency_ms": 2000, "strict": True}))
'{p95_latency_ms: double, strict: bool}'
>>> bind({"p95": 1800}, T.map_of(STRING, DOUBLE), "metrics")
{'p95': 1800.0}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from ..paths import SCHEMA_DIR

PRIMITIVES = ("int", "uint", "double", "bool", "string", "bytes", "null_type", "dyn")


@dataclass(frozen=True, slots=True)
class T:
    kind: str                                   # a primitive, "list", "map" or "object"
    args: tuple["T", ...] = ()                  # list: (elem,); map: (key, value)
    fields: tuple[tuple[str, "T"], ...] = ()    # object: known fields, sorted by name
    nullable: bool = False                      # the value may also be null
    open: bool = False                          # object: unknown fields are allowed (dyn)

    @staticmethod
    def list_of(elem: "T") -> "T":
        return T("list", (elem,))

    @staticmethod
    def map_of(key: "T", value: "T") -> "T":
        return T("map", (key, value))

    @staticmethod
    def obj(fields: dict[str, "T"], *, open: bool = False, nullable: bool = False) -> "T":
        return T("object", (), tuple(sorted(fields.items())), nullable, open)

    def field(self, name: str) -> "T | None":
        return dict(self.fields).get(name)

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("int", "uint", "double")

    def __str__(self) -> str:
        if self.kind == "object":
            text = "{" + ", ".join(f"{k}: {v}" for k, v in self.fields) + (", ..." if self.open else "") + "}"
        elif self.args:
            text = f"{self.kind}({', '.join(map(str, self.args))})"
        else:
            text = self.kind
        return text + ("?" if self.nullable and self.kind != "null_type" else "")


INT, UINT, DOUBLE, BOOL, STRING, BYTES, NULL, DYN = (T(k) for k in PRIMITIVES)


class TypeSyntaxError(ValueError):
    """A declared type that is not a type; the message says what is expected."""


def from_ref(ref) -> T:
    """The type a :class:`compiler.rules.ast.TypeRef` declares."""
    return parse_type(str(ref))


def parse_type(text: str) -> T:
    """Parse the type language of ``input`` declarations (also what the snapshot stores).

    >>> str(parse_type("{p95: double, tags: list(string)}"))
    '{p95: double, tags: list(string)}'
    """
    tokens = [t for t in _TYPE_TOKENS.findall(text) if not t.isspace()]
    if "".join(tokens) != "".join(text.split()):
        raise TypeSyntaxError(f"`{text}` is not a type")
    t, rest = _parse_type(tokens)
    if rest:
        raise TypeSyntaxError(f"unexpected `{rest[0]}` in the type `{text}`")
    return t


_TYPE_TOKENS = __import__("re").compile(r"[A-Za-z_][A-Za-z0-9_]*|[(){},:]|\s+")


def _parse_type(tokens: list[str]) -> tuple[T, list[str]]:
    if not tokens:
        raise TypeSyntaxError("a type is missing")
    head, rest = tokens[0], tokens[1:]
    if head == "{":
        fields: dict[str, T] = {}
        while rest and rest[0] != "}":
            if len(rest) < 3 or rest[1] != ":":
                raise TypeSyntaxError("an object type is `{name: type, ...}`")
            fields[rest[0]], rest = _parse_type(rest[2:])
            rest = rest[1:] if rest and rest[0] == "," else rest
        return T.obj(fields), rest[1:]
    args: list[T] = []
    if rest and rest[0] == "(":
        rest = rest[1:]
        while True:
            arg, rest = _parse_type(rest)
            args.append(arg)
            if rest and rest[0] == ",":
                rest = rest[1:]
                continue
            if not rest or rest[0] != ")":
                raise TypeSyntaxError(f"`{head}(...)` is not closed")
            rest = rest[1:]
            break
    return _named(head, tuple(args)), rest


def _named(name: str, args: tuple[T, ...]) -> T:
    arity = {"list": 1, "map": 2}
    if name in arity:
        if len(args) != arity[name]:
            raise TypeSyntaxError(f"`{name}` takes {arity[name]} type argument(s), got {len(args)}")
        if name == "map" and args[0].kind not in ("string", "int", "uint", "bool", "dyn"):
            raise TypeSyntaxError(f"a map key must be string, int, uint or bool, not `{args[0]}`")
        return T(name, args)
    if name == "null":
        return NULL
    if name not in PRIMITIVES:
        raise TypeSyntaxError(f"unknown type `{name}`")
    if args:
        raise TypeSyntaxError(f"`{name}` takes no type arguments")
    return T(name)


def from_value(value: Any) -> T:
    """The type of a TOML/JSON value; numbers are doubles (thresholds are written either way)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if isinstance(value, dict):
        return T.obj({k: from_value(v) for k, v in value.items()})
    if isinstance(value, list):
        kinds = {from_value(v) for v in value}
        return T.list_of(kinds.pop() if len(kinds) == 1 else DYN)
    return DYN


def params_type(table: dict[str, Any] | None) -> T:
    return T.obj({k: from_value(v) for k, v in (table or {}).items()})


# --- from JSON Schema --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def snapshot_type() -> T:
    """The type of ``old`` and ``new``: schemas/policy_snapshot.schema.json."""
    schema = load_schema("policy_snapshot.schema.json")
    return from_schema(schema, schema.get("$defs", {}))


def from_schema(node: dict, defs: dict) -> T:
    if "$ref" in node:
        return from_schema(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("oneOf", "anyOf"):
        if key in node:  # only the "X or null" shape is typed; other unions are dyn
            options = [o for o in node[key] if o.get("type") != "null"]
            if len(options) == 1:
                inner = from_schema(options[0], defs)
                return T(inner.kind, inner.args, inner.fields, True, inner.open)
            return T("dyn", nullable=True)
    if "const" in node:
        return from_value(node["const"]) if not isinstance(node["const"], (int, float)) else DYN
    if "enum" in node:
        kinds = {from_value(v).kind for v in node["enum"] if v is not None}
        return T(kinds.pop() if len(kinds) == 1 else "dyn", nullable=None in node["enum"])
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    nullable = "null" in types
    types = [t for t in types if t != "null"]
    if len(types) != 1:
        return T("null_type") if nullable and not types else T("dyn", nullable=nullable)
    kind = types[0]
    simple = {"number": "double", "integer": "int", "string": "string", "boolean": "bool"}
    if kind in simple:
        return T(simple[kind], nullable=nullable)
    if kind == "array":
        return T("list", (from_schema(node.get("items", {}), defs),), nullable=nullable)
    if kind == "object":
        return _object_from_schema(node, defs, nullable)
    return T("dyn", nullable=nullable)


def _object_from_schema(node: dict, defs: dict, nullable: bool) -> T:
    extra = node.get("additionalProperties", True)
    props = node.get("properties")
    if props:
        fields = {k: from_schema(v, defs) for k, v in props.items()}
        return T("object", (), tuple(sorted(fields.items())), nullable, open=extra is not False)
    value = from_schema(extra, defs) if isinstance(extra, dict) else DYN
    return T("map", (STRING, value), nullable=nullable)


# --- binding runtime values ------------------------------------------------------------------

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
    missing fields are left for ``has()`` to test (snapshots of older schemas).
    """
    try:
        return _fast(value, t, strict)
    except _Slow:  # something is off: redo it with paths, to name what
        return _bind(value, t, path, strict)


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
    elif kind == "map" and tv is dict:
        vt = t.args[1]
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
    elif kind == "object" and tv is dict:
        fields = dict(t.fields)
        out = {key: (_fast(item, fields[key], strict) if key in fields else thaw(item)) for key, item in value.items()}
        if strict and any(key not in out and not ft.nullable for key, ft in t.fields):
            raise _SLOW
        return out
    elif kind == "list" and tv is list:
        elem = t.args[0]
        return [_fast(item, elem, strict) for item in value]
    elif kind in ("string", "bool", "bytes"):
        if tv is {"string": str, "bool": bool, "bytes": bytes}[kind]:
            return value
    elif kind == "int" and tv is int:
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
            return float(value)
        raise BindError(path, f"is {_describe(value)}, expected a number")
    if kind in ("int", "uint"):
        if isinstance(value, int) and not isinstance(value, bool) and (kind == "int" or value >= 0):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
            return int(value)
        raise BindError(path, f"is {_describe(value)}, expected {'an integer' if kind == 'int' else 'an unsigned integer'}")
    simple = {"bool": bool, "string": str, "bytes": bytes}
    if kind in simple:
        if isinstance(value, simple[kind]):
            return value
        raise BindError(path, f"is {_describe(value)}, expected {kind}")
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise BindError(path, f"is {_describe(value)}, expected a list")
        return [_bind(v, t.args[0], f"{path}[{i}]", strict) for i, v in enumerate(value)]
    if not isinstance(value, Mapping):
        raise BindError(path, f"is {_describe(value)}, expected a map")
    if kind == "map":
        return {k: _bind(v, t.args[1], _join(path, k), strict) for k, v in value.items()}
    return _bind_object(value, t, path, strict)


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
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{key!r}]"


def _describe(value: Any) -> str:
    names = {bool: "a bool", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a map", bytes: "bytes"}
    shown = repr(value) if isinstance(value, (bool, int, float, str)) and len(repr(value)) < 40 else None
    kind = names.get(type(value), type(value).__name__)
    return f"{kind} ({shown})" if shown else kind
