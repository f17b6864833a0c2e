"""Normalization: a checked surface → explicit, ordered data and deterministic YAML bytes.

Defaults become explicit (minmax without bounds gets [0, 1], missing blocks get their
neutral values), numbers become floats where the schema says "number", the operator is
re-spelled canonically. The bundle file ``policy.surface.yaml`` is written from the result by
``compiler.bundle.surface_yaml`` (the bundle package owns every bundle file's bytes).

>>> data = {"surface_version": "policy_surface@v1", "feature_space": [{"name": "x", "transform": "minmax"}]}
>>> print(to_yaml(normalize(data)).decode().splitlines()[4])
    transform: "minmax"
"""

from __future__ import annotations

from typing import Any

from ..bundle.layout import SURFACE_FILE  # noqa: F401  (re-exported for the surface stages)
from ..bundle.surface_yaml import scalar, to_yaml  # noqa: F401
from .checks import format_operator, parse_operator

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
            # Only when set, so surfaces that do not ask for attestation keep their bytes and hashes.
            **({"require_attestation": True} if descent.get("require_attestation") else {}),
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
