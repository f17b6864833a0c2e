"""Drift findings for code scanning (SARIF 2.1.0) and GitHub Actions workflow annotations.

SARIF (the one producer, compiler/sarif.py, as for ``polc check``): one rule per rule id;
levels BLOCK→error, WARN→warning, INFO→note; ``partialFingerprints.polcDrift/v1`` is the
finding's fingerprint, so code scanning tracks a finding across commits; an accepted finding
carries an external suppression with its reason and approver. GitHub: ``::error file=…,line=…::message``
with the escaping the runner requires (``%``, CR, LF; also ``:`` and ``,`` in properties).

>>> github_escape_property("a:b,c")
'a%3Ab%2Cc'
"""

from __future__ import annotations

from typing import Any

_LEVELS = {"BLOCK": "error", "WARN": "warning", "INFO": "note"}
_GITHUB = {"BLOCK": "error", "WARN": "warning", "INFO": "notice"}
#: The SARIF rule of the impact notes (budget figures, replayed decisions): notes, never failures.
IMPACT_RULE = "POLC459"


def render_sarif(report: dict[str, Any]) -> str:
    """The drift report as a SARIF 2.1.0 log, written by the one producer (compiler/sarif.py)."""
    from ..sarif import Result, Rule, sarif_log

    rules: dict[str, Rule] = {}
    results = []
    for f in report["findings"]:
        rules.setdefault(f["rule_id"], Rule(f["rule_id"], _rule_title(f), "diff.md#drift-rules",
                                            level=_LEVELS[f["severity"]]))
        results.append(_result(f))
    for note in _impact_notes(report):
        rules.setdefault(IMPACT_RULE, Rule(IMPACT_RULE, "what the change does to spending and to recorded "
                                                        "decisions", "impact.md", level="note"))
        results.append(Result(IMPACT_RULE, "note", note))
    properties = {"status": report["status"], "old": report["old"], "new": report["new"], "summary": report["summary"]}
    if report.get("impact") is not None:
        properties["impact"] = _impact_properties(report["impact"])
    return sarif_log(rules.values(), results, properties=properties, information="diff.md")


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


def _result(f: dict):
    from ..sarif import Location, Result

    loc = f["location"] or f["rule_location"]
    location = (Location(loc["file"], loc["line"], loc["column"], loc["end_line"], loc["end_column"])
                if loc else None)
    suppression = None
    if f["accepted"]:
        approval = f["approval"]
        suppression = f"{approval['reason']} (approved by {approval['approver']} until {approval['expires']})"
    return Result(f["rule_id"], _LEVELS[f["severity"]], f["message"], location,
                  fingerprints={"polcDrift/v1": f["fingerprint"]}, suppression=suppression,
                  properties={"severity": f["severity"], "path": f["path"]})


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
