"""Drift findings for code scanning (SARIF 2.1.0) and GitHub Actions workflow annotations.

SARIF: one run, tool ``polc``, one rule per rule id; levels BLOCK→error, WARN→warning,
INFO→note; ``partialFingerprints.polcDrift/v1`` is the finding's fingerprint, so code
scanning tracks a finding across commits; an accepted finding carries an external
suppression with its reason and approver. GitHub: ``::error file=…,line=…::message``
with the escaping the runner requires (``%``, CR, LF; also ``:`` and ``,`` in properties).

>>> github_escape_property("a:b,c")
'a%3Ab%2Cc'
"""

from __future__ import annotations

import json
from typing import Any

from ..version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"BLOCK": "error", "WARN": "warning", "INFO": "note"}
_GITHUB = {"BLOCK": "error", "WARN": "warning", "INFO": "notice"}
#: The SARIF rule of the impact notes (budget figures, replayed decisions): notes, never failures.
IMPACT_RULE = "POLC459"


def render_sarif(report: dict[str, Any]) -> str:
    rules = {}
    for f in report["findings"]:
        rules.setdefault(f["rule_id"], {
            "id": f["rule_id"], "name": f["rule_id"],
            "shortDescription": {"text": _rule_title(f)},
            "defaultConfiguration": {"level": _LEVELS[f["severity"]]},
            "helpUri": "https://polc.dev/docs/diff#drift-rules",
        })
    results = [_result(f, list(rules).index(f["rule_id"])) for f in report["findings"]]
    impact_notes = _impact_notes(report)
    if impact_notes:
        rules.setdefault(IMPACT_RULE, {"id": IMPACT_RULE, "name": "decision-impact",
                                       "shortDescription": {"text": "what the change does to spending and to "
                                                                    "recorded decisions"},
                                       "defaultConfiguration": {"level": "note"},
                                       "helpUri": "https://polc.dev/docs/impact"})
        results += [{"ruleId": IMPACT_RULE, "ruleIndex": list(rules).index(IMPACT_RULE), "level": "note",
                     "message": {"text": note}} for note in impact_notes]
    properties = {"status": report["status"], "old": report["old"], "new": report["new"], "summary": report["summary"]}
    if report.get("impact") is not None:
        properties["impact"] = _impact_properties(report["impact"])
    run = {
        "tool": {"driver": {"name": "polc", "version": __version__, "semanticVersion": __version__,
                            "informationUri": "https://polc.dev/docs/diff", "rules": list(rules.values())}},
        "results": results,
        "properties": properties,
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)


def _impact_notes(report: dict[str, Any]) -> list[str]:
    from .render_impact import notes

    return notes(report)


def _impact_properties(impact: dict[str, Any]) -> dict[str, Any]:
    """The impact without the list of changed decisions (the JSON report has them)."""
    replay = impact["replay"]
    if replay is None:
        return impact
    return {**impact, "replay": {k: v for k, v in replay.items() if k != "changed_decisions"}}


def _rule_title(finding: dict) -> str:
    return {"POLC401": "NEW does not compile", "POLC402": "a drift rule could not be evaluated"}.get(
        finding["rule_id"], f"drift rule {finding['rule_id']}")


def _result(f: dict, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f["rule_id"], "ruleIndex": rule_index, "level": _LEVELS[f["severity"]],
        "message": {"text": f["message"]},
        "partialFingerprints": {"polcDrift/v1": f["fingerprint"]},
        "properties": {"severity": f["severity"], "path": f["path"]},
    }
    location = f["location"] or f["rule_location"]
    if location:
        result["locations"] = [_location(location)]
    if f["accepted"]:
        approval = f["approval"]
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": f"{approval['reason']} (approved by {approval['approver']} "
                                                    f"until {approval['expires']})"}]
    return result


def _location(loc: dict) -> dict[str, Any]:
    return {"physicalLocation": {
        "artifactLocation": {"uri": loc["file"].replace("\\", "/")},
        "region": {"startLine": loc["line"], "startColumn": loc["column"],
                   "endLine": max(loc["end_line"], loc["line"]), "endColumn": loc["end_column"]},
    }}


def render_github(report: dict[str, Any]) -> str:
    lines = []
    for f in report["findings"]:
        if f["accepted"]:
            continue  # accepted drift is not a problem to annotate; the summary counts it
        props = {"title": f"polc {f['severity']} {f['rule_id']}"}
        location = f["location"] or f["rule_location"]
        if location:
            props = {"file": location["file"], "line": location["line"], "col": location["column"],
                     "endLine": location["end_line"], **props}
        prop_text = ",".join(f"{k}={github_escape_property(str(v))}" for k, v in props.items())
        message = f"{f['message']} (fingerprint {f['fingerprint']})"
        lines.append(f"::{_GITHUB[f['severity']]} {prop_text}::{github_escape_data(message)}")
    lines += [f"::notice title={github_escape_property('polc impact')}::{github_escape_data(note)}"
              for note in _impact_notes(report)]
    counts = report["summary"]["findings"]
    lines.append(f"polc diff: {report['status']} ({counts['BLOCK']} BLOCK, {counts['WARN']} WARN, "
                 f"{counts['INFO']} INFO, {counts['accepted']} accepted; {report['summary']['changes']} changes)")
    return "\n".join(lines) + "\n"


def github_escape_data(text: str) -> str:
    from ..render import _escape_data  # one escaping for every polc command's annotations

    return _escape_data(text)


def github_escape_property(text: str) -> str:
    from ..render import _escape_property

    return _escape_property(text)
