"""Normalization: a checked surface → explicit, ordered data and deterministic YAML bytes.

Defaults become explicit (minmax without bounds gets [0, 1], missing blocks get their
neutral values), numbers become floats where the schema says "number", the operator is
re-spelled canonically; the YAML is emitted by a tiny writer of our own so the bytes do
not depend on the PyYAML version.

>>> data = {"surface_version": "policy_surface@v1", "feature_space": [{"name": "x", "transform": "minmax"}]}
>>> print(to_yaml(normalize(data)).decode().splitlines()[4])
    transform: minmax
"""

from __future__ import annotations

import json
import re
from typing import Any

from .checks import format_operator, parse_operator

SURFACE_FILE = "policy.surface.yaml"
#: The part of a surface that does not change its meaning (so no version bump is needed).
COSMETIC_FIELDS = ("description",)


def normalize(data: dict) -> dict[str, Any]:
    descent = data.get("symbolic_descent") or {}
    controls = data.get("curvature_controls") or {}
    modes = (data.get("deployment_constraints") or {}).get("safe_modes") or []
    return {
        "surface_version": data["surface_version"],
        "feature_space": [_feature(f) for f in data["feature_space"]],
        "reward_signals": {name: {"weight": float(s["weight"]), "window": int(s["window"])}
                           for name, s in sorted((data.get("reward_signals") or {}).items())},
        "symbolic_descent": {
            "enabled": bool(descent.get("enabled", False)),
            "operator": format_operator(parse_operator(descent["operator"])) if descent.get("operator") else None,
        },
        "curvature_controls": {
            "max_gradient_norm": _float_or_none(controls.get("max_gradient_norm")),
            "damping_factor": float(controls.get("damping_factor", 0.0)),
        },
        "deployment_constraints": {"safe_modes": [
            {"name": m["name"], "description": m.get("description", ""), "toggle_env": m["toggle_env"]} for m in modes]},
    }


def _feature(f: dict) -> dict:
    bounds = f.get("bounds")
    if bounds is None and f["transform"] == "minmax":
        bounds = [0.0, 1.0]
    return {"name": f["name"], "transform": f["transform"],
            "bounds": None if bounds is None else [float(bounds[0]), float(bounds[1])]}


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)


def meaning(surface: dict) -> dict:
    """The surface without its version and cosmetic fields: what a version bump guards."""
    modes = [{k: v for k, v in m.items() if k not in COSMETIC_FIELDS}
             for m in surface["deployment_constraints"]["safe_modes"]]
    return {**{k: v for k, v in surface.items() if k != "surface_version"},
            "deployment_constraints": {"safe_modes": modes}}


# -- the YAML writer -------------------------------------------------------------------------------

def to_yaml(surface: dict) -> bytes:
    lines = ["# policy_surface: normalized by polc; do not edit (edit the source surface and rebuild)"]
    _emit(surface, 0, lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{_key(key)}:")
            _emit(item, indent + 2, lines)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(f"{pad}{_key(key)}:")
            for entry in item:
                first, *rest = _block(entry, indent + 4)
                lines.append(f"{pad}  - {first.lstrip()}")
                lines.extend(rest)
        else:
            lines.append(f"{pad}{_key(key)}: {scalar(item)}")


#: Plain words YAML 1.1 reads as booleans or null: a reward signal may be named `yes` or `null`.
_RESERVED_WORDS = re.compile(r"^(?:y|n|yes|no|true|false|on|off|null|~)$", re.IGNORECASE)


def _key(key: str) -> str:
    """A mapping key: plain when it is an identifier YAML reads as a string, else quoted."""
    return key if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) and not _RESERVED_WORDS.match(key) else scalar(key)


def _block(entry: dict, indent: int) -> list[str]:
    out: list[str] = []
    _emit(entry, indent, out)
    return out


def scalar(value: Any) -> str:
    """A flow-style YAML scalar that PyYAML and YAML 1.2 parsers read back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


#: Characters a YAML reader refuses raw (or reads as line breaks); escaped as \uXXXX instead.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")


def _float(value: float) -> str:
    text = repr(value)  # shortest round-trip form
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:  # YAML 1.1 (PyYAML) reads 1e-07 as a string; 1.0e-07 is a float
        mantissa += ".0"
    return mantissa + (f"e{exponent}" if exponent else "")
