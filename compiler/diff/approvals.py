"""The ``[drift]`` section of policy.toml: severity overrides, disabled rules, accepted findings.

A finding is accepted by its *fingerprint*: the first 16 hex digits of the sha256 of the
canonical JSON of ``[rule_id, path, old, new]`` when the rule names the path and values,
else of ``[rule_id, null, message]`` (rule messages interpolate the values they compare).
It names what changed and how, not when or where in the file, so it is stable across
commits and rebases, and any further change to the same value needs its own approval.

    [drift]
    fail_on = "block"                      # default of --fail-on
    disable = ["DR_MODEL_ADDED"]           # rules that do not run
    severity = { DR_TOKEN_BUDGET_RAISED = "BLOCK" }

    [[drift.accept]]
    fingerprint = "5d1c0b7e9a2f4c11"
    reason = "judge moves to gpt-4.1 after the eval in #412"
    approver = "alice@example.com"
    expires = 2026-12-31                   # a TOML date or "YYYY-MM-DD"; valid through that day (UTC)

>>> from compiler.diff.model import Finding, Severity
>>> len(fingerprint(Finding("DR_X", Severity.WARN, "m", ("capture", "mode"), "none", "full_io")))
16
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import replace
from typing import Any, Iterable, Mapping

from ..diagnostics import Diagnostic, Span
from .model import Approval, Finding, Severity, dotted

FINGERPRINT_RE = re.compile(r"^[0-9a-f]{16}$")


def fingerprint(finding: Finding) -> str:
    from ..canonical import canonical_json

    if finding.path:
        try:
            data = canonical_json([finding.rule_id, dotted(tuple(finding.path)), finding.old, finding.new])
        except ValueError:  # a value canonical JSON cannot hold: fall back to the message
            data = canonical_json([finding.rule_id, dotted(tuple(finding.path)), finding.message])
    else:
        data = canonical_json([finding.rule_id, None, finding.message])
    return hashlib.sha256(data).hexdigest()[:16]


def drift_config(config: Mapping[str, Any]) -> dict:
    section = config.get("drift")
    return section if isinstance(section, dict) else {}


def apply_config(findings: Iterable[Finding], drift: Mapping[str, Any], *, today: _dt.date,
                 span_of=lambda path: None, known_rules: Iterable[str] = ()) -> tuple[list[Finding], list[Diagnostic]]:
    """Findings after overrides and approvals, and diagnostics about the configuration itself.

    ``span_of(path)`` locates a policy.toml key path (for notes that point into it).
    """
    notes: list[Diagnostic] = []
    overrides = _severity_overrides(drift, notes, span_of)
    approvals = _approvals(drift, today, notes, span_of)
    out = []
    used: set[str] = set()
    for finding in findings:
        if finding.rule_id in overrides:
            finding = replace(finding, severity=overrides[finding.rule_id])
        approval = approvals.get(finding.fingerprint)
        if approval is not None:
            used.add(approval.fingerprint)
            finding = replace(finding, approval=approval)
        out.append(finding)
    _note_unknown_rules(drift, set(known_rules), notes, span_of)
    for fp, approval in approvals.items():
        if fp not in used:
            notes.append(Diagnostic.info("POLC443", f"approval {fp} matches no finding of this diff", approval.span,
                                         hint="remove it once the change it approved has merged"))
    return out, notes


def disabled_rules(drift: Mapping[str, Any]) -> frozenset[str]:
    value = drift.get("disable", [])
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


def _severity_overrides(drift, notes, span_of) -> dict[str, Severity]:
    out = {}
    for rule_id, value in (drift.get("severity") or {}).items():
        try:
            out[rule_id] = Severity.parse(str(value))
        except ValueError:
            notes.append(Diagnostic.warning("POLC440", f"severity `{value}` of rule `{rule_id}` is not one of "
                                            "INFO, WARN, BLOCK; the rule keeps its own", span_of(("drift", "severity", rule_id)),
                                            hint="write INFO, WARN or BLOCK"))
    return out


def _approvals(drift, today: _dt.date, notes, span_of) -> dict[str, Approval]:
    out = {}
    for i, entry in enumerate(drift.get("accept") or []):
        approval = _approval(entry, today, notes, span_of(("drift", "accept", i)))
        if approval is not None:
            out[approval.fingerprint] = approval
    return out


def _approval(entry, today: _dt.date, notes, span: Span | None) -> Approval | None:
    """One [[drift.accept]] entry; an incomplete one accepts nothing (it fails closed) and says why."""
    if not isinstance(entry, dict):
        return None
    problems = [f"`{k}` is missing or empty" for k in ("fingerprint", "reason", "approver", "expires")
                if not entry.get(k)]
    fp = str(entry.get("fingerprint", "")).lower()
    if fp and not FINGERPRINT_RE.match(fp):
        problems.append(f"fingerprint `{fp}` is not 16 hex digits")
    expires = parse_date(entry.get("expires"))
    if entry.get("expires") and expires is None:
        problems.append(f"expires `{entry.get('expires')}` is not a date (YYYY-MM-DD)")
    if problems:
        notes.append(Diagnostic.warning("POLC441", "drift approval ignored: " + "; ".join(problems), span,
                                        hint="an approval needs fingerprint, reason, approver and expires "
                                             "(copy the fingerprint from `polc diff` output)"))
        return None
    expired = expires < today
    if expired:
        notes.append(Diagnostic.warning("POLC442", f"drift approval {fp} by {entry['approver']} expired on "
                                        f"{expires.isoformat()}", span,
                                        hint="the finding counts again; renew the approval with a new expiry "
                                             "date, or revert the change"))
    return Approval(fp, str(entry["reason"]), str(entry["approver"]), expires.isoformat(), expired, span)


def parse_date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _note_unknown_rules(drift, known: set[str], notes, span_of) -> None:
    if not known:
        return
    from ..diagnostics import did_you_mean

    named = [(("drift", "severity", r), r) for r in (drift.get("severity") or {})]
    named += [(("drift", "disable", i), r) for i, r in enumerate(drift.get("disable") or []) if isinstance(r, str)]
    for path, rule_id in named:
        if rule_id not in known:
            notes.append(Diagnostic.warning("POLC444", f"[drift] names rule `{rule_id}`, which no loaded drift rule has",
                                            span_of(path), hint=did_you_mean(rule_id, known)))
