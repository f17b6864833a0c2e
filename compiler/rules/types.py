"""Types of the things rules read: declared inputs, gate ``params``, the snapshots ``old``/``new``.

A type is a frozen :class:`T`. Objects (``kind="object"``) have known fields, so a typo in
``new.budgets.cots`` is a compile-time error; maps have a key and a value type; ``dyn`` is
unchecked. Types come from three places:

* declarations in a gate: ``input metrics: map(string, double)`` (:func:`from_ref`);
* the gate's parameter table in model_policy.toml (:func:`params_type`): numbers are ``double``;
* the snapshot's JSON Schema (:func:`from_schema`): ``number`` is ``double``, ``integer`` is ``int``.

Runtime values are checked against these types by :mod:`compiler.rules.binding`.

>>> str(params_type({"p95_latency_ms": 2000, "strict": True}))
'{p95_latency_ms: double, strict: bool}'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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


def drift_inputs() -> dict[str, T]:
    """What a drift rule reads, by name: the snapshots ``old`` and ``new``, and ``impact`` (the
    budget prover's figures and the replay summary of ``polc diff --replay``), typed by
    schemas/drift_impact.schema.json. The one place that declares them (checker and runtime)."""
    return dict(_drift_inputs())


@lru_cache(maxsize=None)
def _drift_inputs() -> tuple[tuple[str, T], ...]:
    snapshot = snapshot_type()
    impact = load_schema("drift_impact.schema.json")
    return (("old", snapshot), ("new", snapshot), ("impact", from_schema(impact, impact.get("$defs", {}))))
