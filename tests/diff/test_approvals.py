"""[drift] in policy.toml: accepted findings, expiry, severity overrides, disabled rules, fail_on."""

from __future__ import annotations

import datetime as dt

from compiler.diff.approvals import apply_config, fingerprint
from compiler.diff.drift import DriftRule, Hit
from compiler.diff.model import Finding, Severity
from compiler.diff.review import review_args
from tests.conftest import make_project

from .helpers import EXAMPLE_POLICY, edit

NEW = edit(EXAMPLE_POLICY, ('mode = "prompts_only"', 'mode = "full_io"'))
TODAY = dt.date(2026, 11, 23)


def widened(o, n):
    if o["capture"]["mode"] != n["capture"]["mode"]:
        yield Hit("capture widened", ("capture", "mode"), o["capture"]["mode"], n["capture"]["mode"])


RULES = [DriftRule("DR_CAPTURE_WIDENED", Severity.BLOCK, widened)]
FP = fingerprint(Finding("DR_CAPTURE_WIDENED", Severity.BLOCK, "x", ("capture", "mode"), "prompts_only", "full_io"))


def run(tmp_path, drift_toml: str, today=TODAY):
    make_project(tmp_path / "old", EXAMPLE_POLICY)
    make_project(tmp_path / "new", NEW, project_extra=drift_toml)
    return review_args("old", "new", cwd=tmp_path, rules=RULES, today=today)


def accept(expires="2026-12-31", fp=FP):
    return (f'\n[[drift.accept]]\nfingerprint = "{fp}"\nreason = "approved in review #12"\n'
            f'approver = "alice@example.com"\nexpires = {expires}\n')


def test_fingerprint_is_stable_and_depends_on_rule_path_and_values():
    a = Finding("R", Severity.WARN, "one message", ("capture", "mode"), "none", "full_io")
    assert fingerprint(a) == fingerprint(Finding("R", Severity.BLOCK, "other text", ("capture", "mode"), "none", "full_io"))
    assert fingerprint(a) != fingerprint(Finding("R", Severity.WARN, "m", ("capture", "mode"), "none", "prompts_only"))
    assert fingerprint(a) != fingerprint(Finding("S", Severity.WARN, "m", ("capture", "mode"), "none", "full_io"))


def test_unapproved_finding_blocks(tmp_path):
    report = run(tmp_path, "")
    assert report.status == "BLOCK" and report.findings[0].fingerprint == FP


def test_accepted_finding_is_reported_and_does_not_fail(tmp_path):
    report = run(tmp_path, accept())
    (finding,) = report.findings
    assert finding.accepted and finding.approval.approver == "alice@example.com"
    assert report.status == "OK"
    assert run(tmp_path / "str", accept('"2026-12-31"')).status == "OK"  # a string date works too


def test_approval_holds_through_its_expiry_day_then_fails_again(tmp_path):
    assert run(tmp_path / "a", accept("2026-11-23")).status == "OK"
    report = run(tmp_path / "b", accept("2026-11-22"))
    assert report.status == "BLOCK" and report.findings[0].approval.expired
    assert [n.code for n in report.notes] == ["POLC442"]
    assert str(report.notes[0].span).startswith("new/policy.toml:")


def test_incomplete_approval_accepts_nothing(tmp_path):
    make_project(tmp_path / "old", EXAMPLE_POLICY)
    findings = [Finding("DR_CAPTURE_WIDENED", Severity.BLOCK, "m", ("capture", "mode"), "prompts_only", "full_io")]
    out, notes = apply_config(findings, {"accept": [{"fingerprint": FP, "reason": "", "approver": "a",
                                                     "expires": "someday"}]}, today=TODAY)
    assert not out[0].accepted and [n.code for n in notes] == ["POLC441"]
    assert "reason" in notes[0].message and "someday" in notes[0].message


def test_malformed_drift_section_is_a_policy_toml_error(tmp_path):
    report = run(tmp_path, accept(fp="xyz"))
    assert report.status == "BLOCK" and report.findings[0].rule_id == "POLC401"
    assert report.findings[0].diagnostics[0].code == "POLC011"


def test_approval_for_another_finding_is_noted(tmp_path):
    report = run(tmp_path, accept(fp="0123456789abcdef"))
    assert report.status == "BLOCK" and "POLC443" in [n.code for n in report.notes]


def test_severity_override_and_disable(tmp_path):
    assert run(tmp_path / "a", '\n[drift]\nseverity = { DR_CAPTURE_WIDENED = "WARN" }\n').status == "WARN"
    disabled = run(tmp_path / "b", '\n[drift]\ndisable = ["DR_CAPTURE_WIDENED"]\n')
    assert disabled.status == "OK" and disabled.findings == ()
    unknown = run(tmp_path / "c", '\n[drift]\ndisable = ["DR_CAPTURE_WIDEN"]\n')
    note = next(n for n in unknown.notes if n.code == "POLC444")
    assert "did you mean `DR_CAPTURE_WIDENED`" in note.hint


def test_fail_on_from_config_is_the_default(tmp_path):
    report = run(tmp_path, '\n[drift]\nfail_on = "never"\n')
    assert report.settings["fail_on"] == "never"
