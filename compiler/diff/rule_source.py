"""Where drift rules come from, adapted to :class:`compiler.diff.drift.DriftRule`.

The rules that apply are the ones NEW was compiled with: the ``drift`` entries of NEW's
snapshot ``rules`` block (the stdlib's and the project's ``.rules`` files), so a snapshot
file or bundle carries its own rules. A NEW snapshot without a ``rules`` block (built before
the rule language existed) gets the stdlib's, loaded by ``compiler.rules.drift``.

A change cannot weaken its own review: a drift rule that OLD has and NEW no longer has
still runs on this diff (from OLD's definition), and its removal is itself a WARN finding
(POLC403).

Each rule also records the snapshot paths it reads (``new.capture.mode`` → ``capture.mode``),
so a finding whose rule names no path can point at the change that made it fire.

>>> sorted(referenced_paths("CAPTURE_RANK[new.capture.mode] > 1 && old.gates.filter(g, true)"))
[('capture', 'mode'), ('gates',)]
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..diagnostics import Diagnostic
from .drift import DriftRule, Hit
from .model import Severity

#: ``old.a.b`` / ``new.a.b``: field selections, stopping before a method call (``.map(``) or index.
_PATH = re.compile(r"\b(?:old|new)((?:\.[A-Za-z_]\w*(?!\w)(?!\s*\())+)")
RULE_REMOVED = "POLC403"


def referenced_paths(*texts: str) -> frozenset[tuple]:
    return frozenset(tuple(m.group(1)[1:].split(".")) for text in texts for m in _PATH.finditer(text))


def load(old: Mapping, new: Mapping, sources: Mapping[str, str], settings: Mapping[str, Any]
         ) -> tuple[list[DriftRule], list[Diagnostic]]:
    """The drift rules for this diff, and notes about loading them."""
    try:
        from ..rules import drift as rules_drift
    except ImportError:  # a polc without the rule language: say so, never pretend it passed
        return [], [Diagnostic.info("POLC445", "drift rules are not available in this polc build; only the "
                                    "structural diff was computed", hint="see docs/diff.md")]
    ratios = settings.get("ratios") if isinstance(settings.get("ratios"), Mapping) else {}
    notes: list[Diagnostic] = []
    if _has_drift_block(new):
        compiled = rules_drift.drift_rules_from_block(new["rules"], ratios)
    else:
        compiled, problems = rules_drift.load_drift_rules({}, {"drift": {"ratios": dict(ratios)}})
        notes += problems
        notes.append(Diagnostic.info("POLC445", "NEW carries no drift rules (it was built without a `rules` "
                                     "block); the stdlib's drift rules were used"))
    rules = [adapt(r) for r in compiled]
    rules += _removed_rules(old, {r.rule_id for r in rules}, ratios, rules_drift)
    return rules, notes


def _has_drift_block(snapshot: Mapping) -> bool:
    block = snapshot.get("rules")
    return isinstance(block, Mapping) and isinstance(block.get("drift"), Mapping)


def adapt(compiled) -> DriftRule:
    """A ``compiler.rules.drift.CompiledDrift`` as a DriftRule."""
    texts = [compiled.when.text] + [expr.text for _, expr in compiled.lets]
    if compiled.message:
        texts.append(compiled.message.get("template", ""))
    return DriftRule(compiled.rule_id, Severity(compiled.severity.value), compiled.check, compiled.span,
                     compiled.title, referenced_paths(*texts), reads_impact=True)


def _removed_rules(old: Mapping, kept: set[str], ratios, rules_drift) -> list[DriftRule]:
    if not _has_drift_block(old):
        return []
    out = []
    for compiled in rules_drift.drift_rules_from_block(old["rules"], ratios):
        if compiled.rule_id in kept:
            continue
        out.append(adapt(compiled))
        out.append(_removal_notice(compiled))
    return out


def _removal_notice(compiled) -> DriftRule:
    rule_id = compiled.rule_id

    def check(old, new):
        return [Hit(f"drift rule `{rule_id}` is no longer in NEW; it still ran on this diff from OLD's "
                    f"definition, and will not run on later ones", ("rules", "drift", rule_id), rule_id, None)]

    return DriftRule(RULE_REMOVED, Severity.WARN, check, compiled.span, "a drift rule was removed",
                     frozenset({("rules", "drift", rule_id)}))
