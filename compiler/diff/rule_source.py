"""Where drift rules come from: the gate/rule language (``compiler.rules``), adapted to DriftRule.

The stdlib's ``drift`` declarations (stdlib/*.rules) always load; the project's come from the
``.rules`` files NEW compiled from (their text is in the NEW side's sources, so a git
revision's rules are used even though its checkout is gone).

Until ``compiler.rules`` exposes drift evaluation this returns no rules and one INFO note
saying so, rather than pretending the policy passed a check that did not run.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..diagnostics import Diagnostic
from .drift import DriftRule


def load(sources: Mapping[str, str], config: Mapping[str, Any]) -> tuple[list[DriftRule], list[Diagnostic]]:
    try:
        from ..rules import drift as rules_drift  # type: ignore[attr-defined]
    except ImportError:
        return [], [Diagnostic.info("POLC445", "drift rules are not available in this polc build; only the "
                                    "structural diff was computed", hint="see docs/diff.md")]
    return rules_drift.load_drift_rules(sources, config)  # pragma: no cover - until the API lands
