"""The JSON form of a drift report (``polc_diff_report@v1``, schemas/diff_report.schema.json).

Every other renderer reads this dict, so all formats say the same thing.

>>> from compiler.diff.model import DiffReport, SideInfo
>>> to_json(DiffReport(SideInfo("a", "snapshot"), SideInfo("b", "snapshot"), (), ()))["status"]
'OK'
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..diagnostics import Span
from ..version import __version__
from .model import BLOCKS, Change, DiffReport, Finding, SideInfo, dotted
from .verdict import exit_code

SCHEMA_VERSION = "polc_diff_report@v1"


def to_json(report: DiffReport, fail_on: str = "block") -> dict[str, Any]:
    status = report.status
    return {
        "schema_version": SCHEMA_VERSION,
        "polc_version": __version__,
        "status": status,
        "fail_on": fail_on,
        "exit_code": exit_code(status, fail_on),
        "old": _side(report.old),
        "new": _side(report.new),
        "summary": _summary(report),
        "findings": [_finding(f) for f in report.findings],
        "changes": [_change(c) for c in report.changes],
        "notes": [d.to_json() for d in report.notes],
        "impact": report.impact.to_json() if report.impact is not None else None,
    }


def _side(info: SideInfo) -> dict[str, Any]:
    return {"label": info.label, "kind": info.kind, "hash": info.hash, "policy_id": info.policy_id,
            "revision": info.revision}


def _summary(report: DiffReport) -> dict[str, Any]:
    kinds = Counter(c.kind for c in report.changes)
    blocks = Counter(c.block for c in report.changes)
    active = Counter(f.severity.value for f in report.findings if not f.accepted)
    return {
        "changes": len(report.changes),
        "added": kinds["added"], "removed": kinds["removed"], "changed": kinds["changed"],
        "by_block": {b: blocks[b] for b in BLOCKS if blocks[b]},
        "findings": {"BLOCK": active["BLOCK"], "WARN": active["WARN"], "INFO": active["INFO"],
                     "accepted": sum(1 for f in report.findings if f.accepted)},
    }


def location(span: Span | None) -> dict[str, Any] | None:
    return span.to_json() if span else None


def _change(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {"path": change.dotted, "segments": list(change.path), "block": change.block,
                           "kind": change.kind, "old": change.old, "new": change.new,
                           "location": location(change.span)}
    if change.elements is not None:
        e = change.elements
        out["elements"] = {"added": list(e.added), "removed": list(e.removed), "reordered": e.reordered}
    return out


def _finding(finding: Finding) -> dict[str, Any]:
    approval = finding.approval
    return {
        "rule_id": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        "fingerprint": finding.fingerprint,
        "path": dotted(tuple(finding.path or finding.subject or ())) or None,
        "old": finding.old,
        "new": finding.new,
        "location": location(finding.span),
        "rule_location": location(finding.rule_span),
        "accepted": finding.accepted,
        "approval": None if approval is None else {
            "reason": approval.reason, "approver": approval.approver, "expires": approval.expires,
            "expired": approval.expired},
        "diagnostics": [d.to_json() for d in finding.diagnostics],
    }
