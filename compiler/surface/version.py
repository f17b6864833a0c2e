"""The ``surface_version`` rule: a surface whose meaning changed must bump its version.

"Previous" is the surface of the bundle the out dir's head pointer names (the last build
or the last restore): that is the policy a new build replaces. Without a head pointer, or
when that bundle has no surface, there is nothing to compare and the rule is silent.

>>> version_number("policy_surface@v12")
12
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from ..diagnostics import Diagnostic, Span
from .normalize import meaning


#: The largest head pointer or snapshot read back from the out dir.
_MAX_READ = 256 * 1024 * 1024


def version_number(version: str) -> int:
    return int(version.rsplit("@v", 1)[1])


def previous_surface(out_dir: Path) -> tuple[dict | None, str | None]:
    """(surface block of the head bundle or None, a problem description or None)."""
    from ..fsutil import read_regular_file

    head = out_dir / "policy.json"
    if not os.path.lexists(head):
        return None, None
    try:
        active = json.loads(read_regular_file(head, _MAX_READ))["active"]
        snapshot = json.loads(read_regular_file(out_dir / str(active) / "snapshot.json", _MAX_READ))
    except OSError as exc:
        return None, str(exc.strerror or exc)
    except (ValueError, KeyError, TypeError):
        return None, "its head pointer or snapshot is not the JSON polc writes"
    surface = snapshot.get("surface") if isinstance(snapshot, dict) else None
    return (surface if isinstance(surface, dict) and "surface_version" in surface else None), None


def check_version(current: dict, out_dir: Path, locate: Callable[[], Span]) -> list[Diagnostic]:
    """Diagnostics of the version rule; ``locate()`` gives the span of surface_version (asked only
    when there is something to report, so a clean surface is never indexed)."""
    previous, problem = previous_surface(out_dir)
    if problem:
        return [Diagnostic.warning("POLC322", f"the previous build in `{out_dir}` could not be read ({problem}); "
                                   "surface_version was not compared", locate(),
                                   hint="run `polc ledger verify` or rebuild the out dir")]
    if previous is None:
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
