"""JSON Schema validation of a parsed source, reported as diagnostics at source positions.

The schemas in ``schemas/`` are the ones the validator uses (DESIGN.md §3). A schema
error becomes a diagnostic that says what was expected and, for names, the closest
valid one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Callable

from ..diagnostics import Diagnostic, Span, did_you_mean

from ..paths import SCHEMA_DIR

_JSON_TYPES = {"object": "a table", "array": "an array", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean (true or false)", "null": "null"}


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """A schema from the package's ``schemas/`` directory (the repository's ``schemas/``)."""
    with open(SCHEMA_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def _validator(name: str):
    import jsonschema

    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(inline_local_refs(schema))


def inline_local_refs(schema: dict) -> dict:
    """The schema with every ``#/$defs/...`` reference replaced by its definition.

    Resolving references is most of jsonschema's time on large policies (measured: 0.64 s of
    0.64 s for 2,000 roles); our schemas are not recursive, so inlining them once is exact.
    """
    defs = schema.get("$defs", {})

    def resolve(node, depth=0):
        if depth > 32:  # a recursive schema: keep the reference for jsonschema to follow
            return node
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/") and ref[8:] in defs:
                merged = {**resolve(defs[ref[8:]], depth + 1), **{k: v for k, v in node.items() if k != "$ref"}}
                return {k: resolve(v, depth + 1) for k, v in merged.items()}
            return {k: resolve(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, depth) for v in node]
        return node

    return resolve(schema)


def validate(instance: Any, schema_name: str, locate: Callable[[tuple, bool], Span],
             codes: dict[str, str]) -> list[Diagnostic]:
    """Diagnostics for every schema violation of ``instance``.

    ``locate(path, key)`` gives the span of the key (key=True) or value at a path.
    ``codes`` maps a violation kind (``type``, ``unknown``, ``required``, ``enum``, ``other``)
    to the diagnostic code to use.
    """
    out: list[Diagnostic] = []
    errors = sorted(_validator(schema_name).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        out.extend(_to_diagnostics(error, locate, codes))
    return out


def _describe_path(path: tuple) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "".join(parts) or "the top level"


def _to_diagnostics(error, locate, codes) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    where = _describe_path(path)
    validator = error.validator
    if validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        pattern = error.schema.get("patternProperties")
        extra = [k for k in error.instance if k not in allowed] if isinstance(error.instance, dict) else []
        if pattern:
            import re

            extra = [k for k in extra if not any(re.search(p, k) for p in pattern)]
        return [Diagnostic.error(codes["unknown"], f"unknown key `{k}` in {where}", locate(path + (k,), True),
                                 hint=did_you_mean(k, allowed)) for k in extra]
    if validator == "required":
        missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]
        return [Diagnostic.error(codes["required"], f"{where} is missing the required key `{k}`", locate(path, True),
                                 hint=_hint_from_schema(error.schema.get("properties", {}).get(k, {}), k))
                for k in missing]
    if validator == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_JSON_TYPES.get(t, t) for t in expected)
        return [Diagnostic.error(codes["type"], f"{where} must be {wanted}, found {_kind(error.instance)}",
                                 locate(path, False), hint=_hint_from_schema(error.schema, path[-1] if path else ""))]
    if validator == "enum":
        options = [str(o) for o in error.validator_value]
        return [Diagnostic.error(codes["enum"], f"{where} is {json.dumps(error.instance)}, not an allowed value",
                                 locate(path, False), hint=did_you_mean(str(error.instance), options))]
    if validator == "propertyNames":
        return [Diagnostic.error(codes["other"], f"invalid name {json.dumps(error.instance)} in {where}: {error.message}",
                                 locate(path, True))]
    return [Diagnostic.error(codes["other"], f"{where}: {error.message}", locate(path, False),
                             hint=error.schema.get("description"))]


def _hint_from_schema(schema: dict, key) -> str | None:
    if "description" in schema:
        return schema["description"]
    if "examples" in schema and schema["examples"]:
        return f"for example `{key} = {json.dumps(schema['examples'][0])}`"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({json.dumps(value)})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def invalid_paths(instance: Any, schema_name: str) -> list[tuple]:
    """The paths of ``instance`` whose values the schema refuses, as places to cut away.

    An unknown key is cut alone, an object missing a required key as a whole, an array with a
    bad element as a whole (so the positions of the elements that stay do not move); an error
    at the top level cuts everything (the empty path).
    """
    cuts = []
    for error in _validator(schema_name).iter_errors(instance):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            cuts.extend(path + (k,) for k in error.instance if k not in allowed)
            continue
        first_index = next((i for i, part in enumerate(path) if isinstance(part, int)), None)
        cuts.append(path if first_index is None else path[:first_index])
    return cuts
