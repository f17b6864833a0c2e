"""Compatibility: does a scope provide what a bundle's manifest says it needs?

A bundle declares ``required_features`` (names) and ``feature_groups`` (name -> version,
exact or ``>=V``); a scope declares the feature versions it provides in ``[[registry.scopes]]``.

>>> unmet_requirements({"required_features": ["atoms"], "feature_groups": {"depth": ">=2"}}, {"atoms": "1", "depth": "3"})
[]
>>> unmet_requirements({"feature_groups": {"depth": ">=2.1"}}, {"depth": "2.0"})
['feature group `depth` >=2.1 (scope has 2.0)']
"""

from __future__ import annotations

import re
from typing import Mapping


def unmet_requirements(compatibility: Mapping, provided: Mapping[str, str]) -> list[str]:
    unmet = [f"feature `{name}`" for name in compatibility.get("required_features") or [] if name not in provided]
    for name, wanted in sorted((compatibility.get("feature_groups") or {}).items()):
        have = provided.get(name)
        if have is None:
            unmet.append(f"feature group `{name}` {wanted} (scope has none)")
        elif not _satisfies(str(have), str(wanted)):
            unmet.append(f"feature group `{name}` {wanted} (scope has {have})")
    return unmet


def _satisfies(have: str, wanted: str) -> bool:
    if wanted.startswith(">="):
        return _version(have) >= _version(wanted[2:].strip())
    return have == wanted


def _version(text: str) -> tuple:
    """Dotted numbers compare numerically; anything else compares as text after them."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-+]", text))
