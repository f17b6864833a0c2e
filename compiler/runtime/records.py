"""What a run records about each decision, so that it can be replayed (docs/impact.md).

REPLAY.jsonl holds one record per decision, each with the inputs that decide it and the
answer the governing policy gave:

* ``RouteDecision``: ``role``, ``key`` (when the split was asked), ``passed_gates`` (gates
  recorded as passed, from the snapshot and the context), ``shadow_mode`` when on, and
  ``candidates`` (the answer, in order);
* ``BudgetCharge``: ``kind`` (``charge`` or ``settle``), ``stage``, ``tokens``, ``cost`` (an
  exact decimal string), ``accepted``; a call charged with ``run.charge_call`` adds ``model``,
  ``input_tokens``, ``output_tokens`` and ``route_seq`` (the RouteDecision that picked it);
* ``ShadowDisagreement`` / ``ShadowSummary``: the shadow candidate's answers (compiler/runtime/shadow.py).

events.jsonl's ``GateEvaluated`` carries ``metrics`` (and keyword ``inputs``) beside the verdict.

>>> encode_key(b"\\x00\\xff"), decode_key(encode_key(b"\\x00\\xff")), decode_key(encode_key("user-7"))
({'hex': '00ff'}, b'\\x00\\xff', 'user-7')
>>> jsonable({"p95": 1800, "tags": ("a",)}), jsonable({"x": float("nan")})
({'p95': 1800, 'tags': ['a']}, None)
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from .frozen import thaw


def encode_key(key: str | bytes | int) -> str | int | dict:
    """A routing key as JSON that decodes to the same bytes (compiler.runtime.split.key_bytes)."""
    return {"hex": key.hex()} if isinstance(key, bytes) else key


def decode_key(value: Any) -> str | bytes | int:
    if type(value) is dict and isinstance(value.get("hex"), str):   # JSON gives plain dicts
        return bytes.fromhex(value["hex"])
    return value


def passed_gate_names(snap, context: Mapping[str, Any] | None) -> list[str]:
    """The gates a route counts as passed: recorded on the snapshot or named in the context."""
    names = {name for name, passed in snap.gate_results.items() if passed}
    for item in (context or {}).get("passed_gates", ()):
        if isinstance(item, str):
            names.add(item)
        elif getattr(item, "passed", False):
            name = getattr(item, "gate", None) or getattr(item, "name", None)
            if isinstance(name, str):
                names.add(name)
    return sorted(names)


def route_record(snap, role: str, context, key, candidates) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "RouteDecision", "role": role, "policy_hash": snap.hash,
                              "candidates": [c.model for c in candidates]}
    if key is not None:
        record["key"] = encode_key(key)
    passed = passed_gate_names(snap, context)
    if passed:
        record["passed_gates"] = passed
    if snap.modes.shadow:
        record["shadow_mode"] = True
    return record


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data, or None when it cannot be (NaN, objects): then not replayable."""
    plain = thaw(value)
    try:
        json.dumps(plain, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return plain
