"""Drift rules: evaluating them over ``old`` and ``new`` snapshots into findings.

A :class:`DriftRule` has a stable id, a severity, the span where it is written, and a
``check(old, new)`` that returns the hits (zero or more) or raises. Rules come from the
gate/rule language (``compiler.rules``: stdlib/*.rules plus the project's ``.rules`` files);
:mod:`compiler.diff.rule_source` adapts them. A rule that raises is never silently passed: it
becomes a finding (POLC402) naming the rule and its span, at the rule's severity but at
least WARN, so an erroring BLOCK rule still blocks.

>>> rule = DriftRule("DR_CAPTURE", Severity.BLOCK, lambda o, n: [Hit("widened")] if n != o else [])
>>> [f.message for f in evaluate_drift({"a": 1}, {"a": 2}, [rule])]
['widened']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from ..diagnostics import Diagnostic, Span
from .model import Finding, Severity

#: Rule id of the finding "NEW does not compile" and of "a rule failed to evaluate".
COMPILE_FAILED, RULE_FAILED = "POLC401", "POLC402"


@dataclass(frozen=True)
class Hit:
    """One firing of a rule: its message and, when the rule names one, the path it is about."""

    message: str
    path: tuple | None = None
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class DriftRule:
    rule_id: str
    severity: Severity
    check: Callable[[dict, dict], Iterable[Hit]]
    span: Span | None = None
    title: str = ""
    reads: frozenset[tuple] = frozenset()   # snapshot paths the rule reads, for locating its findings
    reads_impact: bool = False              # check(old, new, impact): the rule may read `impact`


def evaluate_drift(old: dict, new: dict, rules: Sequence[DriftRule], impact: dict | None = None) -> list[Finding]:
    """Every finding of ``rules`` over the two snapshots (and ``impact``: budget figures, replay
    summary; compiler/diff/impact_review.py), in rule order."""
    findings: list[Finding] = []
    for rule in rules:
        try:
            hits = list(rule.check(old, new, impact) if rule.reads_impact else rule.check(old, new))
        except Exception as exc:  # any failure of a rule is a finding, never a crash or a pass
            findings.append(_rule_failed(rule, exc))
            continue
        findings.extend(Finding(rule.rule_id, rule.severity, hit.message, hit.path, hit.old, hit.new,
                                rule_span=rule.span, reads=rule.reads) for hit in hits)
    return findings


def _rule_failed(rule: DriftRule, exc: Exception) -> Finding:
    severity = rule.severity if rule.severity.rank >= Severity.WARN.rank else Severity.WARN
    detail = getattr(exc, "diagnostics", None) or (Diagnostic.error(
        "POLC402", f"{type(exc).__name__}: {exc}", rule.span),)
    return Finding(rule.rule_id, severity,
                   f"drift rule `{rule.rule_id}` could not be evaluated: {_first_line(exc)}",
                   rule_span=rule.span, span=rule.span, diagnostics=tuple(detail))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def compile_failed(label: str, diagnostics: Sequence[Diagnostic]) -> Finding:
    errors = [d for d in diagnostics if d.is_error]
    first = errors[0] if errors else None
    return Finding(COMPILE_FAILED, Severity.BLOCK,
                   f"NEW ({label}) does not compile: {len(errors)} error(s)"
                   + (f"; first: {first.code} {first.message}" if first else ""),
                   span=first.span if first else None, diagnostics=tuple(diagnostics))
