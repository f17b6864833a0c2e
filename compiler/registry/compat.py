"""Compatibility: does a scope provide what a bundle's manifest says it needs?

A bundle declares ``required_features`` (names), ``feature_groups`` (name -> version, exact or
``>=V``) and runner version bounds; a scope declares the feature versions it provides and the
version of its runner in ``[[registry.scopes]]``. The comparison is the bundle package's
(``compiler.bundle.compat``), the same the runtime applies when it loads a bundle.

>>> unmet_requirements({"required_features": ["atoms"], "feature_groups": {"depth": ">=2"}}, {"atoms": "1", "depth": "3"})
[]
>>> unmet_requirements({"feature_groups": {"depth": ">=2.1"}}, {"depth": "2.0"})
['feature group `depth` >=2.1 (provided: 2.0)']
>>> unmet_requirements({"min_runner_version": "0.2"}, {}, runner_version="0.1.5")
['needs runner version >= 0.2, not 0.1.5']
"""

from __future__ import annotations

from typing import Mapping

from ..bundle.compat import runner_problems, unmet_features


def unmet_requirements(compatibility: Mapping, provided: Mapping[str, str], *,
                       runner_version: str | None = None) -> list[str]:
    """What the scope lacks; the runner bounds are checked when the scope declares its runner."""
    unmet = unmet_features(compatibility, provided)
    if runner_version is not None:
        unmet += runner_problems(compatibility, runner_version)
    return unmet
