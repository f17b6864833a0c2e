"""Shared helpers of the rules tests: snapshots as dicts, temporary projects with rules files."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from tests.conftest import EXAMPLE_POLICY, make_project

SURFACE = {
    "surface_version": "policy_surface@v1",
    "feature_space": [{"name": "atoms", "transform": "log1p", "bounds": [1.0, 64.0]}],
    "reward_signals": {"abstention_mass": {"weight": -0.8, "window": 32},
                       "throughput": {"weight": 0.3, "window": 16}},
    "symbolic_descent": {"enabled": True, "operator": "concat(policy_gradient, abstention_gradient)",
                         "learning_rate": 0.05},
    "curvature_controls": {"max_gradient_norm": 0.5, "damping_factor": 0.2},
    "deployment_constraints": {"safe_modes": [
        {"name": "deterministic_eval", "description": "", "toggle_env": "POLICY_SAFE_MODE=1"},
        {"name": "shadow", "description": "", "toggle_env": "POLICY_SHADOW_MODE=1"}]},
}


def base_snapshot(*, surface: bool = True) -> dict:
    """The example policy's content blocks, as the compiler lowers them, plus a surface."""
    from compiler.passes.snapshot import normalize_model_policy

    snap = normalize_model_policy(tomllib.loads(EXAMPLE_POLICY))
    snap.update(schema_version="1.0", model_config={}, weights={}, prompts={})
    if surface:
        snap["surface"] = copy.deepcopy(SURFACE)
    return snap


def rules_project(root: Path, files: dict[str, str], *, policy: str = EXAMPLE_POLICY, extra: str = "",
                  patterns: list[str] | None = None) -> Path:
    """A project whose policy.toml names ``files`` (name -> text or bytes) as rules sources."""
    names = patterns if patterns is not None else sorted(files)
    listed = ", ".join(f'"{n}"' for n in names)
    make_project(root, policy, project_extra=f"rules = [{listed}]\n{extra}")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root
