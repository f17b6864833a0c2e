"""The ``surface_version`` rule: a surface whose meaning changed must bump its version.

"Previous" is the surface of the bundle a run is given as its previous build (``polc check``
and ``polc build`` give the one the out dir's head pointer names: the last build or restore,
the policy a new build replaces; ``--previous`` names another). Without one, or when it has
no surface, there is nothing to compare and the rule is silent.

>>> version_number("policy_surface@v12")
12
"""

from __future__ import annotations

from typing import Callable

from ..diagnostics import Diagnostic, Span
from .normalize import meaning


def version_number(version: str) -> int:
    return int(version.rsplit("@v", 1)[1])


def check_version(current: dict, previous_bundle, locate: Callable[[], Span]) -> list[Diagnostic]:
    """The version rule against ``previous_bundle`` (a verified ``compiler.bundle.Bundle`` or None);
    ``locate()`` gives the span of surface_version, asked only when there is something to report
    (so a clean surface is never indexed: compiler/surface/yaml_front.py)."""
    previous = previous_bundle.snapshot.get("surface") if previous_bundle is not None else None
    if not isinstance(previous, dict) or "surface_version" not in previous:
        return []
    before, after = previous["surface_version"], current["surface_version"]
    try:
        old_n, new_n = version_number(before), version_number(after)
    except (ValueError, IndexError):
        return []
    if new_n < old_n:
        return [Diagnostic.error("POLC321", f"surface_version {after} is lower than the previous build's {before}",
                                 locate(), hint=f"surface versions only go up; use policy_surface@v{old_n + 1}")]
    if new_n == old_n and meaning(previous) != meaning(current):
        changed = sorted(k for k in meaning(current) if meaning(current).get(k) != meaning(previous).get(k))
        return [Diagnostic.error("POLC320", f"the surface changed ({', '.join(changed)}) but surface_version is "
                                 f"still {after}", locate(),
                                 hint=f"bump it to policy_surface@v{old_n + 1}; the build logs the change as a "
                                      "`surface_change` delta")]
    return []
