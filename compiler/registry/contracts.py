"""Validation against ``schemas/mpr_public_contracts_v0.schema.json``: requests on the way in,
responses on the way out (tests check the latter with ``contract_errors``).

>>> contract_errors({"environment": "prod", "policy_name": "router"}, "ScopeKey")
[]
>>> contract_errors({"environment": "prod"}, "ScopeKey")
["$: 'policy_name' is a required property"]
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .errors import invalid

SCHEMA_FILE = "mpr_public_contracts_v0.schema.json"


@lru_cache(maxsize=None)
def _validator(definition: str):
    import jsonschema

    from ..frontend.schema_check import load_schema

    schema = load_schema(SCHEMA_FILE)
    if definition not in schema["$defs"]:
        raise KeyError(f"no $defs/{definition} in {SCHEMA_FILE}")
    wrapper = {**schema, "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(wrapper, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def contract_errors(instance: Any, definition: str) -> list[str]:
    """Every violation of ``$defs/definition``, as ``$.path: message`` lines."""
    errors = sorted(_validator(definition).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_path(e.absolute_path)}: {e.message}" for e in errors]


def require(instance: Any, definition: str) -> Any:
    """``instance`` if it is a valid ``definition``; else an INVALID_PAYLOAD error listing why."""
    problems = contract_errors(instance, definition)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise invalid("POLC600", f"invalid {definition}: {shown}",
                      hint=f"see $defs/{definition} in schemas/{SCHEMA_FILE}", problems=problems)
    return instance


def _path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out
