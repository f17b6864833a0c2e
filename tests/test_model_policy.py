"""The model_policy.toml front end: every mistake is a diagnostic at the right place."""

from __future__ import annotations

import pytest

from compiler import check
from compiler.codes import CODES, exit_code_for

from .conftest import EXAMPLE_POLICY, make_project

BASE = """\
[routing.cloud]
architect = ["claude-sonnet-4-20250514", "gpt-4o"]
judge = ["claude-sonnet-4-20250514"]

[capture]
mode = "prompts_only"

[budgets.tokens]
plan = 8000

[budgets.cost]
warn_threshold = 5.0
hard_limit = 25.0
"""


def diagnose(tmp_path, text: str):
    return check(make_project(tmp_path / "p", text))


def codes_at(diagnostics):
    return [(d.code, d.span.line, d.span.column) for d in diagnostics]


def test_spec_001_example_compiles_without_findings(tmp_path):
    assert diagnose(tmp_path, EXAMPLE_POLICY) == []


@pytest.mark.parametrize("text, code, line, column", [
    # a wrong type, pointing at the value
    (BASE.replace('mode = "prompts_only"', "mode = 3"), "POLC104", 6, 8),
    (BASE.replace("plan = 8000", 'plan = "many"'), "POLC101", 9, 8),
    # an unknown key, pointing at the key, with a did-you-mean hint
    (BASE + "\n[gatez.x]\na = 1\n", "POLC102", 15, 1),
    (BASE.replace("[capture]", "[capture]\nstore_embedings = true"), "POLC102", 6, 1),
    # enum with a suggestion
    (BASE.replace("prompts_only", "prompt_only"), "POLC104", 6, 8),
    # a missing required block
    (BASE.replace('[capture]\nmode = "prompts_only"\n', ""), "POLC103", 1, 1),
    # an empty role list, a duplicated model
    (BASE.replace('judge = ["claude-sonnet-4-20250514"]', "judge = []"), "POLC110", 3, 9),
    (BASE.replace('"gpt-4o"]', '"gpt-4o", "gpt-4o"]'), "POLC111", 2, 52),
    # budgets
    (BASE.replace("plan = 8000", "plan = -5"), "POLC120", 9, 8),
    (BASE.replace("hard_limit = 25.0", "hard_limit = 0"), "POLC120", 13, 14),
    (BASE.replace("warn_threshold = 5.0", "warn_threshold = 30.0"), "POLC121", 12, 18),
    # numbers canonical JSON cannot hold
    (BASE.replace("hard_limit = 25.0", "hard_limit = nan"), "POLC150", 13, 14),
    (BASE.replace("hard_limit = 25.0", "hard_limit = inf"), "POLC150", 13, 14),
    (BASE.replace("plan = 8000", f"plan = {2**60}"), "POLC150", 9, 8),
    # endpoint URL, undefined references
    (BASE + '[routing.reflex]\nenabled = false\nendpoint = "htp//nowhere"\n', "POLC130", 16, 12),
    (BASE + '[routing.reflex]\nenabled = true\nendpoint = "http://127.0.0.1:3009/v1"\n', "POLC103", 15, 1),
    (BASE + '[routing.fallback]\narchitekt = ["gpt-4o-mini"]\n', "POLC140", 15, 1),
    (BASE + '[routing.stages]\nplan = "planner"\n', "POLC140", 15, 8),
    (BASE + '[routing.stages]\nreview = "judge"\n', "POLC140", 9, 1),
    (BASE + "[gates.reflex_promotion]\n", "POLC160", 14, 1),
])
def test_each_mistake_is_reported_where_it_is(tmp_path, text, code, line, column):
    diagnostics = diagnose(tmp_path, text)
    assert (code, line, column) in codes_at(diagnostics), codes_at(diagnostics)
    assert exit_code_for(diagnostics) == 1


def test_unknown_key_hint_names_the_closest_key(tmp_path):
    [d] = diagnose(tmp_path, BASE + "\n[gatez.x]\na = 1\n")
    assert d.message == "unknown key `gatez` in the top level"
    assert d.hint.startswith("did you mean `gates`?")


def test_enum_hint_suggests_the_intended_value(tmp_path):
    [d] = diagnose(tmp_path, BASE.replace("prompts_only", "prompt_only"))
    assert "did you mean `prompts_only`?" in d.hint


def test_one_check_reports_every_semantic_problem(tmp_path):
    text = BASE.replace("plan = 8000", "plan = -5").replace("warn_threshold = 5.0", "warn_threshold = 30.0") \
               .replace('judge = ["claude-sonnet-4-20250514"]', "judge = []")
    assert {d.code for d in diagnose(tmp_path, text)} == {"POLC110", "POLC120", "POLC121"}


def test_invalid_toml_syntax_is_an_input_error_with_position(tmp_path):
    diagnostics = diagnose(tmp_path, BASE.replace("[capture]", "[capture"))
    assert [(d.code, d.span.line) for d in diagnostics] == [("POLC006", 5)]
    assert exit_code_for(diagnostics) == 3


def test_every_code_used_is_catalogued():
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "compiler"
    used = set()
    for path in package.rglob("*.py"):
        used.update(re.findall(r'"(POLC\d{3})"', path.read_text(encoding="utf-8")))
    assert used - set(CODES) == set()


@pytest.mark.parametrize("value, ok", [(2**53 - 1, True), (2**53, False), (-(2**53 - 1), True), (-(2**53), False)])
def test_the_one_integer_bound_is_i_json(tmp_path, value, ok):
    """The compiler refuses at the TOML value exactly the integers canonical JSON refuses."""
    from compiler import build

    text = BASE + f"\n[gates.reflex_promotion]\np95_latency_ms = {value}\nsuccess_parity_percent = 85\n"
    result = build(make_project(tmp_path / "p", text))
    if ok:
        assert result.ok, result.diagnostics
        return
    assert [d.code for d in result.diagnostics] == ["POLC150"]
    assert str(result.diagnostics[0].span).startswith("model_policy.toml:") and str(value) in result.diagnostics[0].message
