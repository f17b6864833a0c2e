"""Validation against ``schemas/mpr_public_contracts_v0.schema.json``: requests on the way in,
responses on the way out (tests check the latter with ``contract_errors``).

>>> contract_errors({"environment": "prod", "policy_name": "router"}, "ScopeKey")
[]
>>> contract_errors({"environment": "prod"}, "ScopeKey")
["$: 'policy_name' is a required property"]
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from .errors import invalid

SCHEMA_FILE = "mpr_public_contracts_v0.schema.json"


@lru_cache(maxsize=None)
def _validator(definition: str):
    import jsonschema

    from ..frontend.schema_check import load_schema

    defs = load_schema(SCHEMA_FILE)["$defs"]
    if definition not in defs:
        raise KeyError(f"no $defs/{definition} in {SCHEMA_FILE}")
    # $refs inlined: the schema has no cycles, and reference lookups were most of the cost.
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_inline(defs[definition], defs)}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _inline(node: Any, defs: dict) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            target = _inline(defs[ref[len("#/$defs/"):]], defs)
            return {"allOf": [target, _inline(rest, defs)]} if rest else target
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def contract_errors(instance: Any, definition: str) -> list[str]:
    """Every violation of ``$defs/definition``, as ``$.path: message`` lines."""
    errors = sorted(_validator(definition).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_path(e.absolute_path)}: {e.message}" for e in errors]


#: Requests already found valid, by definition and canonical text: validation is a pure function of
#: the instance, and a router resolves the same few scopes over and over.
_VALID: dict[tuple[str, str], None] = {}
_VALID_MAX, _SMALL = 4096, 2048


def require(instance: Any, definition: str) -> Any:
    """``instance`` if it is a valid ``definition``; else an INVALID_PAYLOAD error listing why."""
    try:
        key = (definition, json.dumps(instance, sort_keys=True, separators=(",", ":")))
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _VALID:
        return instance
    problems = contract_errors(instance, definition)
    if not problems and key is not None and len(key[1]) <= _SMALL:
        if len(_VALID) >= _VALID_MAX:
            _VALID.clear()
        _VALID[key] = None
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise invalid("POLC600", f"invalid {definition}: {shown}",
                      hint=f"see $defs/{definition} in schemas/{SCHEMA_FILE}", problems=problems)
    return instance


def respond(instance: Any, definition: str) -> Any:
    """A response the registry built; validated when POLC_REGISTRY_CHECK_RESPONSES=1 (the test
    suite sets it, so every response of every test is checked; production skips the cost)."""
    if os.environ.get("POLC_REGISTRY_CHECK_RESPONSES") == "1":
        problems = contract_errors(instance, definition)
        if problems:
            raise AssertionError(f"polc built an invalid {definition}: {problems}")
    return instance


def _path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out
