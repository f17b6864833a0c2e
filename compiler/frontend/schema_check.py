"""JSON Schema validation of a parsed source, reported as diagnostics at source positions.

The schemas in ``schemas/`` are the ones the validator uses (docs/reference/). A schema
error becomes a diagnostic that says what was expected and, for names, the closest
valid one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Callable

from ..diagnostics import Diagnostic, Span, closest, did_you_mean
from ..spelling import kind, spell

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


@lru_cache(maxsize=None)
def _fast_validator(name: str):
    """jsonschema-rs's validator of schema ``name``, or None where that package is not installed."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(load_schema(name))


def _fast_is_valid(name: str, instance: Any) -> bool:
    """True when jsonschema-rs finds ``instance`` valid.

    A valid source is the common case, and jsonschema-rs decides it hundreds of times faster than
    the ``jsonschema`` package (measured: 0.016 s against 4.4 s for a surface of 100,000 features).
    Any other answer, or a value it cannot take (a TOML date), falls back to ``jsonschema``, which
    also explains every error; so the fast path can only skip work, never a finding.
    """
    validator = _fast_validator(name)
    if validator is None:
        return False
    try:
        return bool(validator.is_valid(instance))
    except Exception:  # noqa: BLE001 - a value jsonschema-rs cannot convert: let jsonschema decide
        return False


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
    to the diagnostic code to use. A misspelled required key (``[captur]`` for ``[capture]``)
    is one error at the misspelling, not also "missing the required key".
    """
    if _fast_is_valid(schema_name, instance):
        return []
    errors = sorted(_validator(schema_name).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    misspelled = _misspelled_required(errors)
    out: list[Diagnostic] = []
    for error in errors:
        out.extend(_to_diagnostics(error, locate, codes, misspelled))
    return out


def _describe_path(path: tuple) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "".join(parts) or "the top level"


def _unknown_keys(error) -> list:
    """The keys an ``additionalProperties`` error is about (those neither listed nor matching a pattern)."""
    import re

    allowed = set(error.schema.get("properties", {}))
    patterns = error.schema.get("patternProperties") or {}
    if not isinstance(error.instance, dict):
        return []
    return [k for k in error.instance if k not in allowed and not any(re.search(p, str(k)) for p in patterns)]


def _misspelled_required(errors) -> dict[tuple, str]:
    """{(object path, unknown key): the missing required key it is a misspelling of}."""
    missing: dict[tuple, list[str]] = {}
    for error in errors:
        if error.validator == "required" and isinstance(error.instance, dict):
            missing.setdefault(tuple(error.absolute_path), []).extend(
                k for k in error.validator_value if k not in error.instance)
    pairs: dict[tuple, str] = {}
    for error in errors:
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and missing.get(path):
            for key in _unknown_keys(error):
                best = closest(str(key), missing[path])
                if best is not None and best not in pairs.values():
                    pairs[(path, key)] = best
    return pairs


def _to_diagnostics(error, locate, codes, misspelled: dict[tuple, str]) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    where = _describe_path(path)
    validator = error.validator
    if validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        out = []
        for k in _unknown_keys(error):
            intended = misspelled.get((path, k))
            hint = (f"did you mean `{intended}`? `{intended}` is required and missing" if intended
                    else did_you_mean(str(k), allowed))
            out.append(Diagnostic.error(codes["unknown"], f"unknown key `{k}` in {where}", locate(path + (k,), True),
                                        hint=hint))
        return out
    if validator == "required":
        taken = {intended for (where_path, _), intended in misspelled.items() if where_path == path}
        missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance
                   and k not in taken]
        return [Diagnostic.error(codes["required"], f"{where} is missing the required key `{k}`", locate(path, True),
                                 hint=_hint_from_schema(error.schema.get("properties", {}).get(k, {}), k))
                for k in missing]
    if validator == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_JSON_TYPES.get(t, t) for t in expected)
        return [Diagnostic.error(codes["type"], f"{where} must be {wanted}, found {kind(error.instance)}",
                                 locate(path, False), hint=_hint_from_schema(error.schema, path[-1] if path else ""))]
    if validator == "enum":
        options = [str(o) for o in error.validator_value]
        shown = ", ".join(f"`{spell(o) if not isinstance(o, str) else o}`" for o in error.validator_value)
        hint = did_you_mean(error.instance, options) if isinstance(error.instance, str) else f"expected one of {shown}"
        shown_value = spell(error.instance) if isinstance(error.instance, str) else kind(error.instance)
        return [Diagnostic.error(codes["enum"], f"{where} is {shown_value}, not an allowed value",
                                 locate(path, False), hint=hint)]
    if "propertyNames" in error.absolute_schema_path:
        name = error.instance
        return [Diagnostic.error(codes["other"], f"{spell(name)} is not a valid name in {where}: "
                                 f"{_expectation(error)}", locate(path + (name,), True),
                                 hint=error.schema.get("description"))]
    if validator in ("oneOf", "anyOf") and error.context:
        import jsonschema

        return _to_diagnostics(jsonschema.exceptions.best_match(error.context), locate, codes, misspelled)
    return [Diagnostic.error(codes["other"], f"{where} is {spell(error.instance)}; {_expectation(error)}",
                             locate(path, False), hint=error.schema.get("description"))]


#: Patterns of schemas/, said in words (a message never shows a regular expression).
_PATTERN_WORDS = {
    r"\.npy$": "a path ending in `.npy`",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "a name of letters, digits and `_` that does not start with a digit",
    r"^[A-Za-z_][A-Za-z0-9_.-]*$": "a name of letters, digits, `_`, `.` and `-` that does not start with a digit",
    r"^[A-Z]{3}$": "three capital letters (an ISO 4217 currency code such as `USD`)",
    r"^[0-9a-f]{16}$": "16 lowercase hexadecimal characters",
    r"^[0-9a-f]{64}$": "64 lowercase hexadecimal characters (a sha256)",
    r"^policy_surface@v[1-9][0-9]*$": "`policy_surface@vN` with N a whole number from 1 up",
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$": "a name of up to 128 letters, digits, `.`, `_` and `-` that starts "
                                            "with a letter or digit",
    r"^[A-Za-z0-9._-]+$": "a name of letters, digits, `.`, `_` and `-`",
}


def _expectation(error) -> str:
    """What the failed keyword wanted, in words."""
    rule, value = error.validator, error.validator_value
    if rule == "pattern":
        return f"expected {_PATTERN_WORDS.get(value, 'a value of the documented form')}"
    if rule == "const":
        return f"expected {spell(value)}"
    if rule in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most",
                 "exclusiveMaximum": "below"}[rule]
        return f"it must be {words} {spell(value)}"
    if rule == "minLength":
        return "it must not be empty" if value == 1 else f"it must be at least {value} characters long"
    if rule == "maxLength":
        return f"it must be at most {value} characters long"
    if rule == "minItems":
        return "the array must not be empty" if value == 1 else f"the array needs at least {value} items"
    if rule == "maxItems":
        return f"the array may have at most {value} items"
    if rule == "uniqueItems":
        return "the array lists an item twice; list each once"
    if rule in ("minProperties", "maxProperties"):
        return f"the table needs {'at least' if rule == 'minProperties' else 'at most'} {value} keys"
    if rule == "format":
        return f"expected a {value}" + (" such as 2027-06-30" if value == "date" else "")
    if rule == "dependentRequired":
        return "a key it depends on is missing"
    if rule in ("oneOf", "anyOf"):
        return "it matches more than one of the allowed forms" if rule == "oneOf" else \
            "it matches none of the allowed forms"
    return "it does not match the schema"


def _hint_from_schema(schema: dict, key) -> str | None:
    if "description" in schema:
        return schema["description"]
    if "examples" in schema and schema["examples"]:
        return f"for example `{key} = {spell(schema['examples'][0])}`"
    return None


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
