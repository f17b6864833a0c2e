"""The types rules read: declared inputs, gate ``params``, the snapshots ``old``/``new``.

Types are the CEL engine's (:class:`compiler.cel.types.Type`, one type system for the whole
language); this module is where the rules language gets them from:

* declarations in a gate: ``input metrics: map(string, double)`` (:func:`from_ref`);
* the gate's parameter table in model_policy.toml (:func:`params_type`): numbers are ``double``;
* the snapshot's JSON Schema (:func:`from_schema`): ``number`` is ``double``, ``integer`` is
  ``int``, ``["X", "null"]`` is nullable (``X?``), and an object that allows other
  properties is open (its unknown fields are ``dyn``).

Runtime values are checked against these types by :mod:`compiler.rules.binding`.

>>> str(params_type({"p95_latency_ms": 2000, "strict": True}))
'{p95_latency_ms: double, strict: bool}'
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from ..cel.types import (BOOL, DOUBLE, DYN, NULL, STRING, Type, list_of, map_of, object_of,
                         parse_type as _parse_type)

__all__ = ["BOOL", "DOUBLE", "DYN", "NULL", "STRING", "Type", "TypeSyntaxError", "from_ref",
           "from_schema", "from_value", "params_type", "parse_type", "snapshot_type"]


class TypeSyntaxError(ValueError):
    """A declared type that is not a type; the message says what is expected."""


def from_ref(ref) -> Type:
    """The type a :class:`compiler.rules.ast.TypeRef` declares."""
    return parse_type(str(ref))


def parse_type(text: str) -> Type:
    """Parse the type language of ``input`` declarations (also what the snapshot stores).

    >>> str(parse_type("{p95: double, tags: list(string)}"))
    '{p95: double, tags: list(string)}'
    """
    try:
        return _parse_type(text, "type")
    except Exception as err:  # a CelError (POLC216); its module loads only when there is one
        from ..cel.errors import CelError

        if not isinstance(err, CelError):
            raise
        raise TypeSyntaxError(err.message.removeprefix("type: ")) from None


def from_value(value: Any) -> Type:
    """The type of a TOML/JSON value; numbers are doubles (thresholds are written either way)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if isinstance(value, dict):
        return object_of({k: from_value(v) for k, v in value.items()})
    if isinstance(value, list):
        kinds = {from_value(v) for v in value}
        return list_of(kinds.pop() if len(kinds) == 1 else DYN)
    return DYN


def params_type(table: dict[str, Any] | None) -> Type:
    return object_of({k: from_value(v) for k, v in (table or {}).items()})


# --- from JSON Schema --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    from ..paths import SCHEMA_DIR

    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def snapshot_type() -> Type:
    """The type of ``old`` and ``new``: schemas/policy_snapshot.schema.json."""
    schema = load_schema("policy_snapshot.schema.json")
    return from_schema(schema, schema.get("$defs", {}))


def from_schema(node: dict, defs: dict) -> Type:
    if "$ref" in node:
        return from_schema(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("oneOf", "anyOf"):
        if key in node:  # only the "X or null" shape is typed; other unions are dyn
            options = [o for o in node[key] if o.get("type") != "null"]
            if len(options) == 1:
                return from_schema(options[0], defs).or_null()
            return DYN
    if "const" in node:
        return from_value(node["const"]) if not isinstance(node["const"], (int, float)) else DYN
    if "enum" in node:
        kinds = {from_value(v).kind for v in node["enum"] if v is not None}
        found = Type(kinds.pop()) if len(kinds) == 1 else DYN
        return found.or_null() if None in node["enum"] else found
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    nullable = "null" in types
    types = [t for t in types if t != "null"]
    if len(types) != 1:
        return NULL if nullable and not types else DYN
    found = _from_schema_type(types[0], node, defs)
    return found.or_null() if nullable else found


def _from_schema_type(kind: str, node: dict, defs: dict) -> Type:
    simple = {"number": "double", "integer": "int", "string": "string", "boolean": "bool"}
    if kind in simple:
        return Type(simple[kind])
    if kind == "array":
        return list_of(from_schema(node.get("items", {}), defs))
    if kind == "object":
        extra = node.get("additionalProperties", True)
        props = node.get("properties")
        if props:
            return object_of({k: from_schema(v, defs) for k, v in props.items()}, open=extra is not False)
        return map_of(STRING, from_schema(extra, defs) if isinstance(extra, dict) else DYN)
    return DYN


def drift_inputs() -> dict[str, Type]:
    """What a drift rule reads, by name: the snapshots ``old`` and ``new``, and ``impact`` (the
    budget prover's figures and the replay summary of ``polc diff --replay``), typed by
    schemas/drift_impact.schema.json. The one place that declares them (checker and runtime)."""
    return dict(_drift_inputs())


@lru_cache(maxsize=None)
def _drift_inputs() -> tuple[tuple[str, Type], ...]:
    snapshot = snapshot_type()
    impact = load_schema("drift_impact.schema.json")
    return (("old", snapshot), ("new", snapshot), ("impact", from_schema(impact, impact.get("$defs", {}))))
