"""Each format rendered from one report; json validated against its schema, sarif against SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from compiler.diff.drift import DriftRule, Hit
from compiler.diff.model import Severity
from compiler.diff.render_ci import render_github, render_sarif
from compiler.diff.render_markdown import render_markdown
from compiler.diff.render_text import render_text, use_color
from compiler.diff.report_json import to_json
from compiler.diff.review import review_args
from compiler.paths import SCHEMA_DIR

from .helpers import EXAMPLE_POLICY, edit

REPO = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = REPO / "tests" / "data" / "sarif-schema-2.1.0.json"

NEW = edit(EXAMPLE_POLICY, ('mode = "prompts_only"', 'mode = "full_io"'),
           ('judge = ["claude-sonnet-4-20250514"]', 'judge = ["gpt-4o|<b>x</b>", "claude-sonnet-4-20250514"]'),
           ("[gates.local_memory_sunset]\nretrieval_p95_parity = true\nstability_days = 30\n", ""))


def capture_rule(o, n):
    if o["capture"]["mode"] != n["capture"]["mode"]:
        yield Hit(f"capture widened: {o['capture']['mode']} → {n['capture']['mode']}", ("capture", "mode"),
                  o["capture"]["mode"], n["capture"]["mode"])


def model_added(o, n):
    for role, models in n["routing"]["cloud"].items():
        for m in models:
            if m not in o["routing"]["cloud"].get(role, []):
                yield Hit(f"model `{m}` added to `{role}`\nsecond line, 100%", ("routing", "cloud", role), None, m)


def broken(o, n):
    raise ZeroDivisionError("division by zero")


RULES = [DriftRule("DR_CAPTURE_WIDENED", Severity.BLOCK, capture_rule),
         DriftRule("DR_MODEL_ADDED", Severity.INFO, model_added),
         DriftRule("DR_BROKEN", Severity.INFO, broken)]


@pytest.fixture
def report(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "old", EXAMPLE_POLICY)
    make_project(tmp_path / "new", NEW)
    return review_args("old", "new", cwd=tmp_path, rules=RULES)


def test_report_content(report):
    assert report.status == "BLOCK"
    assert [f.rule_id for f in report.findings] == ["DR_CAPTURE_WIDENED", "DR_BROKEN", "DR_MODEL_ADDED"]
    broken_finding = report.findings[1]
    assert broken_finding.severity is Severity.WARN  # an erroring rule is at least WARN, never passed
    assert "ZeroDivisionError" in broken_finding.diagnostics[0].message
    assert str(report.findings[0].span) == "new/model_policy.toml:12:8"


def test_json_matches_its_schema(report):
    data = to_json(report)
    schema = json.loads((SCHEMA_DIR / "diff_report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(json.dumps(data)), schema)
    assert data["status"] == "BLOCK" and data["exit_code"] == 1
    assert data["summary"]["findings"] == {"BLOCK": 1, "WARN": 1, "INFO": 1, "accepted": 0}
    judge = next(c for c in data["changes"] if c["path"] == "routing.cloud.judge")
    assert judge["elements"] == {"added": ["gpt-4o|<b>x</b>"], "removed": [], "reordered": False}
    assert judge["location"] == {"file": "new/model_policy.toml", "line": 4, "column": 9, "end_line": 4,
                                 "end_column": 56}


def test_json_schema_rejects_a_wrong_report(report):
    data = json.loads(json.dumps(to_json(report)))
    data["status"] = "MAYBE"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json.loads((SCHEMA_DIR / "diff_report.schema.json").read_text()))


def test_sarif(report):
    sarif = json.loads(render_sarif(to_json(report)))
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "polc"
    levels = [(r["ruleId"], r["level"]) for r in run["results"]]
    assert levels == [("DR_CAPTURE_WIDENED", "error"), ("DR_BROKEN", "warning"), ("DR_MODEL_ADDED", "note")]
    first = run["results"][0]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "new/model_policy.toml"
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    assert len(first["partialFingerprints"]["polcDrift/v1"]) == 16
    assert [r["id"] for r in run["tool"]["driver"]["rules"]][first["ruleIndex"]] == "DR_CAPTURE_WIDENED"
    if SARIF_SCHEMA.exists():  # the official schema, vendored by the diagnostics work
        validator_cls = jsonschema.validators.validator_for(json.loads(SARIF_SCHEMA.read_text()))
        validator_cls(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)


def test_github_annotations_escape_newlines_percent_and_property_separators(report):
    lines = render_github(to_json(report)).splitlines()
    assert lines[0].startswith("::error file=new/model_policy.toml,line=12,col=8,endLine=12,"
                               "title=polc BLOCK DR_CAPTURE_WIDENED::capture widened")
    added = next(ln for ln in lines if "DR_MODEL_ADDED" in ln)
    assert added.startswith("::notice ") and "%0Asecond line, 100%25" in added
    assert lines[-1].startswith("polc diff: BLOCK (1 BLOCK, 1 WARN, 1 INFO, 0 accepted")


def test_markdown_has_summary_then_block_findings_first_then_changes_by_block(report):
    md = render_markdown(to_json(report))
    assert md.index("| Status |") < md.index("#### Findings") < md.index("#### Changes by block")
    findings = md[md.index("#### Findings"):md.index("#### Changes by block")]
    assert findings.index("DR_CAPTURE_WIDENED") < findings.index("DR_BROKEN") < findings.index("DR_MODEL_ADDED")
    changes = md[md.index("#### Changes by block"):]
    assert changes.index("<b>routing</b>") < changes.index("<b>capture</b>") < changes.index("<b>gates</b>")
    assert "<b>x</b>" not in md and "gpt-4o&#124;&lt;b&gt;x&lt;/b&gt;" in md  # policy text cannot inject HTML
    for line in md.splitlines():
        if line.startswith("| ") and "routing.cloud.judge" in line:
            assert line.count(" | ") == 4  # the pipe in the model name did not add a column


def test_text_is_a_plan_without_color_unless_asked(report):
    text = render_text(report, color=False)
    assert "\x1b[" not in text
    assert "BLOCK  DR_CAPTURE_WIDENED  capture widened" in text
    assert "~ routing.cloud.judge  (new/model_policy.toml:4:9)" in text
    assert '+ "gpt-4o|<b>x</b>"' in text
    assert '- gates.local_memory_sunset (was {"retrieval_p95_parity": true, "stability_days": 30})' in text
    assert text.rstrip().endswith("exit 1 with --fail-on block")
    assert "\x1b[1;31mBLOCK" in render_text(report, color=True)


class _Tty:
    def isatty(self):
        return True


def test_color_decision(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(_Tty()) and not use_color(object())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Tty()) and use_color(object(), "always") and not use_color(_Tty(), "never")


def test_no_changes_renders_in_every_format(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "a", EXAMPLE_POLICY)
    report = review_args("a", "a", cwd=tmp_path, rules=RULES[:2])
    assert report.status == "OK" and report.changes == ()
    assert "No changes" in render_text(report) and "No changes" in render_markdown(to_json(report))
    assert json.loads(render_sarif(to_json(report)))["runs"][0]["results"] == []
    assert render_github(to_json(report)).startswith("polc diff: OK")


def test_text_never_passes_terminal_controls_from_the_policy(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "a", EXAMPLE_POLICY)
    make_project(tmp_path / "b", edit(EXAMPLE_POLICY, ('judge = ["claude-sonnet-4-20250514"]',
                                                       'judge = ["claude-sonnet-4-20250514", "x\\u001b]0;pwned\\u0007"]')))

    def echo_rule(o, n):
        yield Hit("model " + n["routing"]["cloud"]["judge"][-1], None)

    report = review_args("a", "b", cwd=tmp_path, rules=[DriftRule("DR_ECHO", Severity.WARN, echo_rule)])
    text = render_text(report, color=False)
    assert "\x1b" not in text and "\x07" not in text
    assert "model x\ufffd]0;pwned\ufffd" in text


def test_sarif_is_checked_against_the_official_schema():
    assert SARIF_SCHEMA.exists(), "tests/data/sarif-schema-2.1.0.json (vendored by the diagnostics work)"


def test_prompt_template_changes_show_as_unified_diffs_in_text_and_markdown():
    from compiler.diff.model import Change, DiffReport, SideInfo

    change = Change(("prompts", "plan", "template"), "changed", "Plan.\nBe brief.\n", "Plan.\nBe \x1b[2Jthorough.\n")
    report = DiffReport(SideInfo("a", "snapshot"), SideInfo("b", "snapshot"), (change,), ())
    text = render_text(report)
    assert "Prompt and weight details" in text and "    -Be brief." in text and "\x1b" not in text
    md = render_markdown(to_json(report))
    assert "#### Prompt changes" in md and "-Be brief." in md
    assert md.index("#### Changes by block") < md.index("#### Prompt changes")


def test_a_new_that_does_not_compile_renders_in_every_format(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "a", EXAMPLE_POLICY)
    make_project(tmp_path / "b", edit(EXAMPLE_POLICY, ("plan = 8000", 'plan = "x"')))
    report = review_args("a", "b", cwd=tmp_path, rules=[])
    assert "NEW did not compile" in render_text(report)
    data = to_json(report)
    jsonschema.validate(data, json.loads((SCHEMA_DIR / "diff_report.schema.json").read_text()))
    md = render_markdown(data)
    assert "NEW did not compile" in md and "error[POLC101]" in md and "No changes" not in md
    assert render_github(data).startswith("::error file=b/model_policy.toml,line=16,col=8")
    assert json.loads(render_sarif(data))["runs"][0]["results"][0]["ruleId"] == "POLC401"
