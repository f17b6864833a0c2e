"""Diagnostic renderings: text (snippet, caret, color rules, summary), json (against its schema),
sarif (against the real OASIS SARIF 2.1.0 schema), github workflow commands, markdown."""

from __future__ import annotations

import doctest
import io
import json
from pathlib import Path

import jsonschema
import pytest

import compiler.canonical
import compiler.canonical_reference
import compiler.render
import compiler.sarif
import compiler.snippet
from compiler.diagnostics import Diagnostic, Span
from compiler.errors import InputError
from compiler.paths import SCHEMA_DIR
from compiler.render import FORMATS, render, render_error

DATA = Path(__file__).parent / "data"
SOURCE = 'mode = "fulll"\n[routing.cloud]\narchitect = []\n\tkey\t= "tabbed"\nname = "数据" # wide\n'
SOURCES = {"model_policy.toml": SOURCE}

ERROR = Diagnostic.error("POLC104", "`fulll` is not a capture mode", Span("model_policy.toml", 1, 8, 1, 15),
                         hint="expected one of `none`, `prompts_only`, `full_io`; did you mean `full_io`?")
WARNING = Diagnostic.warning("POLC110", "role `architect` has no models", Span("model_policy.toml", 3, 13, 3, 15),
                             notes=["an empty role can never be routed"])
NO_SPAN = Diagnostic.error("POLC001", "no policy.toml found", hint="run polc inside a policy project")
INFO = Diagnostic.info("POLC000", "3 more diagnostics not shown")
ALL = [ERROR, WARNING, NO_SPAN, INFO]


@pytest.mark.parametrize("module", [compiler.render, compiler.sarif, compiler.snippet, compiler.canonical,
                                    compiler.canonical_reference])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_formats_are_exported():
    assert set(FORMATS) >= {"text", "json", "sarif", "github", "markdown"}
    with pytest.raises(ValueError, match="unknown diagnostics format"):
        render(ALL, "xml")


# --- text ----------------------------------------------------------------------------------------

def test_text_has_header_snippet_caret_hint_and_summary():
    out = render(ALL, "text", sources=SOURCES)
    assert out.splitlines()[:5] == [
        "model_policy.toml:1:8: error[POLC104]: `fulll` is not a capture mode",
        "  |",
        '1 | mode = "fulll"',
        "  |        ^^^^^^^",
        "  = hint: expected one of `none`, `prompts_only`, `full_io`; did you mean `full_io`?",
    ]
    assert "3 | architect = []\n  |             ^^\n  = note: an empty role can never be routed" in out
    assert "<polc>: error[POLC001]: no policy.toml found\n  = hint: run polc inside a policy project" in out
    assert "<polc>: note[POLC000]: 3 more diagnostics not shown" in out
    assert out.splitlines()[-1] == "2 errors, 1 warning, 1 note"
    assert "\x1b[" not in out


@pytest.mark.parametrize("diagnostics,summary", [
    ([ERROR], "1 error"), ([WARNING], "1 warning"), ([ERROR, ERROR, WARNING], "2 errors, 1 warning"),
    ([WARNING, WARNING], "2 warnings"), ([INFO], "1 note"),
])
def test_summary_line(diagnostics, summary):
    assert render(diagnostics, "text").splitlines()[-1] == summary


def test_no_diagnostics_renders_nothing():
    assert render([], "text") == ""


def test_caret_alignment_with_tabs_and_wide_characters():
    tab = Diagnostic.error("POLC102", "unknown key `key`", Span("model_policy.toml", 4, 2, 4, 5))
    wide = Diagnostic.error("POLC101", "bad name", Span("model_policy.toml", 5, 8, 5, 12))
    out = render([tab, wide], "text", sources=SOURCES)
    assert '4 |     key    = "tabbed"\n  |     ^^^' in out
    # "数据" is two double-width characters: four columns of carets after `name = "`.
    assert '5 | name = "数据" # wide\n  |        ^^^^^^' in out


def test_spans_past_the_line_and_multiline_spans_stay_on_the_line():
    eof = Diagnostic.error("POLC006", "expected a value", Span("model_policy.toml", 3, 40, 3, 41))
    multi = Diagnostic.error("POLC100", "bad table", Span("model_policy.toml", 2, 1, 3, 5))
    out = render([eof, multi], "text", sources=SOURCES)
    assert "3 | architect = []\n  |               ^" in out  # just past the last character
    assert "2 | [routing.cloud]\n  | ^^^^^^^^^^^^^^^" in out


def test_control_characters_in_sources_cannot_reach_the_terminal():
    d = Diagnostic.error("POLC101", "x", Span("evil.toml", 1, 1, 1, 2))
    out = render([d], "text", sources={"evil.toml": "a\x1b[2J = 1\n"})
    assert "\x1b" not in out and "a\ufffd[2J = 1" in out


def test_control_characters_in_messages_cannot_reach_the_terminal():
    d = Diagnostic.error("POLC102", "unknown key `a\x1b]0;pwned\x07`", Span("a\x1b.toml", 1, 1, 1, 2),
                         hint="rename `\x1b[31m`", notes=["two\nlines"])
    out = render([d], "text")
    assert "\x1b" not in out and "\x07" not in out and "two\nlines" in out


def test_only_newline_ends_a_line_and_separators_are_not_shown():
    d = Diagnostic.error("POLC101", "x", Span("a.toml", 2, 1, 2, 2))
    out = render([d], "text", sources={"a.toml": 'a = "x\u2028y\x0cz\x9b"\nb = 1\n'})
    assert "2 | b = 1\n  | ^" in out
    d1 = Diagnostic.error("POLC101", "x", Span("a.toml", 1, 1, 1, 2))
    out = render([d1], "text", sources={"a.toml": 'a = "x\u2028y\x0cz\x9b"\nb = 1\n'})
    assert '1 | a = "x\ufffdy\ufffdz\ufffd"' in out


def test_sources_are_read_from_root_and_unreadable_files_lose_only_the_snippet(tmp_path):
    (tmp_path / "model_policy.toml").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00 bad utf-8")
    (tmp_path / "dir.toml").mkdir()
    diags = [ERROR, *(Diagnostic.error("POLC003", "x", Span(name, 1, 1, 1, 2))
                      for name in ("binary.toml", "dir.toml", "missing.toml", "../outside.toml"))]
    (tmp_path.parent / "outside.toml").write_text("secret = 1\n")
    out = render(diags, "text", root=tmp_path)
    assert '1 | mode = "fulll"' in out
    assert "secret" not in out
    assert [line for line in out.splitlines() if line[:1].isdigit() and " | " in line] == ['1 | mode = "fulll"']


def test_color_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert "\x1b[1;31m" in render([ERROR], "text", sources=SOURCES, stream=Terminal())
    assert "\x1b[" not in render([ERROR], "text", sources=SOURCES, stream=io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in render([ERROR], "text", sources=SOURCES, stream=Terminal())
    assert "\x1b[" in render([ERROR], "text", sources=SOURCES, stream=io.StringIO(), color=True)


def test_render_error_prints_diagnostics_or_message():
    stream = io.StringIO()
    render_error(InputError("x", [NO_SPAN]), stream)
    assert "error[POLC001]: no policy.toml found" in stream.getvalue()
    stream = io.StringIO()
    render_error(InputError("cannot read it", hint="check the path"), stream)
    assert stream.getvalue() == "polc: cannot read it\n  = hint: check the path\n"


# --- json ----------------------------------------------------------------------------------------

def test_json_validates_against_its_schema():
    schema = json.loads((SCHEMA_DIR / "diagnostics.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for diagnostics in (ALL, [], [ERROR]):
        payload = json.loads(render(diagnostics, "json"))
        jsonschema.Draft202012Validator(schema).validate(payload)
    payload = json.loads(render(ALL, "json"))
    assert payload["summary"] == {"errors": 2, "warnings": 1, "notes": 1, "total": 4, "ok": False}
    assert payload["diagnostics"][0] == {
        "code": "POLC104", "severity": "error", "message": "`fulll` is not a capture mode",
        "file": "model_policy.toml", "line": 1, "column": 8, "end_line": 1, "end_column": 15,
        "hint": ERROR.hint}


def test_json_schema_rejects_what_polc_never_writes():
    schema = json.loads((SCHEMA_DIR / "diagnostics.schema.json").read_text())
    bad = json.loads(render([ERROR], "json"))
    bad["diagnostics"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(bad)


# --- sarif ---------------------------------------------------------------------------------------

def sarif_validator():
    # The OASIS SARIF 2.1.0 schema (errata01), as published in oasis-tcs/sarif-spec Schemata/.
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def test_sarif_validates_against_the_oasis_schema(tmp_path):
    validator = sarif_validator()
    for diagnostics in (ALL, [], [WARNING]):
        log = json.loads(render(diagnostics, "sarif", root=tmp_path))
        errors = sorted(validator.iter_errors(log), key=str)
        assert not errors, errors[0].message


def test_sarif_content():
    log = json.loads(render(ALL, "sarif"))
    assert log["version"] == "2.1.0" and "sarif-schema-2.1.0.json" in log["$schema"]
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "polc" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {"POLC000", "POLC001", "POLC104", "POLC110"}
    assert rules["POLC110"]["shortDescription"]["text"] == "empty model list for a role"
    assert rules["POLC110"]["helpUri"].endswith("/reference/diagnostics.md#polc110")
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "warning", "error", "note"]
    first = results[0]
    assert driver["rules"][first["ruleIndex"]]["id"] == first["ruleId"] == "POLC104"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "model_policy.toml"
    assert location["region"] == {"startLine": 1, "startColumn": 8, "endLine": 1, "endColumn": 15}
    assert "hint: expected one of" in first["message"]["text"]
    assert "locations" not in results[2]


def test_sarif_run_fails_only_when_an_input_could_not_be_read():
    def successful(diagnostics):
        return json.loads(render(diagnostics, "sarif"))["runs"][0]["invocations"][0]["executionSuccessful"]

    assert successful([ERROR, WARNING]) is True  # findings are a successful analysis
    assert successful([NO_SPAN]) is False        # POLC001: no policy.toml, nothing was analysed


def test_sarif_help_uri_follows_polc_docs_url(monkeypatch):
    monkeypatch.setenv("POLC_DOCS_URL", "https://example.org/polc/docs/")
    log = json.loads(render([ERROR], "sarif"))
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] == \
        "https://example.org/polc/docs/reference/diagnostics.md#polc104"


def test_sarif_uris_are_escaped():
    d = Diagnostic.error("POLC002", "x", Span("policies/my file#1.toml", 1, 1, 1, 2))
    log = json.loads(render([d], "sarif"))
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "policies/my%20file%231.toml"


# --- github --------------------------------------------------------------------------------------

def test_github_workflow_commands():
    lines = render(ALL, "github").splitlines()
    assert lines[0] == ("::error file=model_policy.toml,line=1,col=8,endLine=1,endColumn=14,title=POLC104::"
                        "`fulll` is not a capture mode%0Ahint: expected one of `none`, `prompts_only`, "
                        "`full_io`; did you mean `full_io`?")
    assert lines[1].startswith("::warning file=model_policy.toml,line=3,col=13,endLine=3,endColumn=14,title=POLC110::")
    assert lines[1].endswith("%0Anote: an empty role can never be routed")
    assert lines[2] == "::error title=POLC001::no policy.toml found%0Ahint: run polc inside a policy project"
    assert lines[3].startswith("::notice title=POLC000::")


def test_github_escaping():
    d = Diagnostic.error("POLC101", "100% wrong\r\nreally", Span("a:b,c.toml", 2, 1, 4, 3))
    (line,) = render([d], "github").splitlines()
    assert line == "::error file=a%3Ab%2Cc.toml,line=2,endLine=4,title=POLC101::100%25 wrong%0D%0Areally"


# --- markdown ------------------------------------------------------------------------------------

def test_markdown_table_escapes_cells():
    d = Diagnostic.error("POLC101", "a | b <script>", Span("m.toml", 1, 1, 1, 2), hint="do x\nthen y")
    out = render([d, WARNING], "markdown")
    assert out.startswith("**polc**: 1 error, 1 warning\n")
    assert "| error | `POLC101` | m.toml:1:1 | a \\| b &lt;script&gt;<br>*hint:* do x<br>then y |" in out
    assert render([], "markdown") == "**polc**: no problems\n"


# --- golden fixtures (`make fixtures` regenerates them for review) --------------------------------

GOLDEN = Path(__file__).parent / "fixtures" / "render"
GOLDEN_FILES = {"text": "diagnostics.txt", "json": "diagnostics.json", "sarif": "diagnostics.sarif",
                "github": "diagnostics.github", "markdown": "diagnostics.md"}


@pytest.mark.parametrize("fmt", sorted(GOLDEN_FILES))
def test_golden_renderings(fmt, monkeypatch):
    import os

    monkeypatch.setenv("POLC_DOCS_URL", "https://docs.example/polc")  # keep machine paths out
    rendered = render(ALL, fmt, sources=SOURCES) + "\n"
    path = GOLDEN / GOLDEN_FILES[fmt]
    if os.environ.get("POLC_REGEN_FIXTURES"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def test_check_and_diff_write_sarif_through_one_producer(monkeypatch):
    """Same $schema, same help links, same URI encoding, same driver: one producer (compiler/sarif.py)."""
    from compiler.diff.render_ci import render_sarif as diff_sarif
    from compiler.render import render_sarif as check_sarif

    monkeypatch.setenv("POLC_DOCS_URL", "https://docs.example/polc")
    check = json.loads(check_sarif([Diagnostic.error("POLC110", "empty", Span("my rules/a b.toml", 2, 1, 2, 5))]))
    location = {"file": "my rules/a b.toml", "line": 2, "column": 1, "end_line": 2, "end_column": 5}
    finding = {"rule_id": "DR_X", "severity": "WARN", "message": "m", "fingerprint": "f" * 16, "path": "p",
               "location": location, "rule_location": None, "accepted": False, "approval": None}
    diff = json.loads(diff_sarif({"findings": [finding], "status": "WARN", "old": {}, "new": {}, "summary": {},
                                  "impact": None}))
    assert check["$schema"] == diff["$schema"] and check["version"] == diff["version"] == "2.1.0"
    uris = [log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            for log in (check, diff)]
    assert uris[0] == uris[1] == {"uri": "my%20rules/a%20b.toml", "uriBaseId": "PROJECTROOT"}
    helps = [log["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] for log in (check, diff)]
    assert helps == ["https://docs.example/polc/reference/diagnostics.md#polc110",
                     "https://docs.example/polc/diff.md#drift-rules"]
    assert check["runs"][0]["tool"]["driver"]["name"] == diff["runs"][0]["tool"]["driver"]["name"] == "polc"
