"""Compatibility: does a runner provide what a bundle's manifest says it needs?

A manifest's ``compatibility`` section (written from policy.toml ``[build]``) declares
``required_features`` (names), ``feature_groups`` (name -> version, exact or ``>=V``) and the
runner versions it works with, ``min_runner_version`` .. ``max_runner_version`` (inclusive;
either may be null). The runtime checks them against itself when it loads a bundle; the
registry checks them against the runner and features a scope declares when it promotes one.
Both use this module, so they agree on what "compatible" means.

Versions compare as dotted numbers (``2025.11.20``, ``0.1.0``); a part that is not a number
compares as text, after the numbers.

>>> unmet_features({"required_features": ["atoms"], "feature_groups": {"depth": ">=2"}}, {"atoms": "1", "depth": "3"})
[]
>>> unmet_features({"feature_groups": {"depth": ">=2.1"}}, {"depth": "2.0"})
['feature group `depth` >=2.1 (provided: 2.0)']
>>> runner_problems({"min_runner_version": "0.2.0", "max_runner_version": None}, "0.1.0")
['needs runner version >= 0.2.0, not 0.1.0']
"""

from __future__ import annotations

import re
from typing import Mapping


def version_key(text: str) -> tuple:
    """A sort key for a version string: dotted numbers numerically, other parts as text after them."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-+]", str(text).strip()))


def is_version(text) -> bool:
    """A version polc can compare: parts of letters and digits separated by `.`, `-` or `+`."""
    return isinstance(text, str) and bool(re.fullmatch(r"[0-9A-Za-z]+(?:[.\-+][0-9A-Za-z]+)*", text.strip()))


def satisfies(have: str, wanted: str) -> bool:
    """Whether version ``have`` meets ``wanted``: exact, or ``>=V``."""
    if wanted.startswith(">="):
        return version_key(have) >= version_key(wanted[2:].strip())
    return str(have) == wanted


def unmet_features(compatibility: Mapping, provided: Mapping[str, str | None]) -> list[str]:
    """The required features and feature groups ``provided`` (name -> version or None) lacks."""
    unmet = [f"feature `{name}`" for name in compatibility.get("required_features") or [] if name not in provided]
    for name, wanted in sorted((compatibility.get("feature_groups") or {}).items()):
        have = provided.get(name)
        if have is None:
            state = "not provided" if name not in provided else "provided without a version"
            unmet.append(f"feature group `{name}` {wanted} ({state})")
        elif not satisfies(str(have), str(wanted)):
            unmet.append(f"feature group `{name}` {wanted} (provided: {have})")
    return unmet


def runner_problems(compatibility: Mapping, runner_version: str) -> list[str]:
    """Why a runner of ``runner_version`` is outside the bundle's runner bounds (empty: inside)."""
    low, high = compatibility.get("min_runner_version"), compatibility.get("max_runner_version")
    problems = []
    if low and version_key(runner_version) < version_key(low):
        problems.append(f"needs runner version >= {low}, not {runner_version}")
    if high and version_key(runner_version) > version_key(high):
        problems.append(f"needs runner version <= {high}, not {runner_version}")
    return problems
