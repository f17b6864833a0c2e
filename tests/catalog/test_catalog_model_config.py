"""[model_config.<model>]: completeness, values, retirement dates, lowering and snap.model()."""

from __future__ import annotations

import datetime as _dt

import pytest

from compiler.codes import exit_code_for
from compiler.runtime.models import UnknownModel, model_config

from .helpers import BASE, MODELS, compile_ok, diagnose, findings


def test_a_policy_without_model_config_needs_none(tmp_path):
    assert diagnose(tmp_path, BASE) == []


def test_complete_config_has_no_findings(tmp_path):
    assert diagnose(tmp_path, BASE + MODELS) == []


def test_routed_model_without_entry_is_an_error_at_its_routing_mention(tmp_path):
    text = BASE + MODELS.replace('[model_config.gpt-4o]\nprovider = "openai"\ncontext_window = 128000\n', "")
    found = diagnose(tmp_path, text)
    assert findings(found) == [("POLC510", "model_policy.toml", 2, 42)]
    assert exit_code_for(found) == 1
    assert "gpt-4o" in found[0].message and "[model_config.default]" in found[0].hint


def test_reflex_and_fallback_models_need_entries_too(tmp_path):
    text = BASE.replace("[capture]", '[routing.fallback]\njudge = ["gpt-4o-mini"]\n\n[routing.reflex]\n'
                                     'model = "qwen"\n\n[capture]') + MODELS
    assert [(c, line) for c, _, line, _ in findings(diagnose(tmp_path, text))] == [("POLC510", 6), ("POLC510", 9)]


def test_default_stands_in_and_fills_in(tmp_path):
    text = BASE + '\n[model_config.default]\nprovider = "openai"\ntemperature = 0.3\n' \
                  '\n[model_config."claude-sonnet-4-20250514"]\nprovider = "anthropic"\n'
    snap = compile_ok(tmp_path, text).snapshot
    assert snap["model_config"]["gpt-4o"]["provider"] == "openai"           # stood in for
    assert snap["model_config"]["claude-sonnet-4-20250514"]["temperature"] == 0.3  # filled in
    assert snap["model_config"]["claude-sonnet-4-20250514"]["provider"] == "anthropic"
    assert snap["model_config"]["default"]["context_window"] is None


def test_unused_entry_is_a_warning_at_its_key(tmp_path):
    found = diagnose(tmp_path, BASE + MODELS + '\n[model_config.gpt-4-turbo]\nprovider = "openai"\n')
    assert findings(found) == [("POLC511", "model_policy.toml", 21, 1)]
    assert found[0].severity.value == "warning" and exit_code_for(found) == 0


@pytest.mark.parametrize("old, new, line, column, code", [
    ('provider = "openai"', 'provider = "openai"\ninput_price_per_mtok = -3.0', 19, 24, "POLC512"),
    ('provider = "openai"', 'provider = "openai"\noutput_price_per_mtok = -0.01', 19, 25, "POLC512"),
    ("context_window = 128000", "context_window = 0", 19, 18, "POLC513"),
    ('provider = "openai"', 'provider = "openai"\ntemperature = 2.5', 19, 15, "POLC513"),
    ('provider = "openai"', 'provider = "openai"\nmax_output_tokens = 300000', 19, 21, "POLC513"),  # > its window
])
def test_bad_values_point_at_the_value(tmp_path, old, new, line, column, code):
    found = diagnose(tmp_path, BASE + MODELS.replace(old, new))
    assert findings(found) == [(code, "model_policy.toml", line, column)]
    assert exit_code_for(found) == 1


def test_wrong_types_and_unknown_keys_are_schema_errors(tmp_path):
    text = BASE + MODELS.replace('provider = "openai"', 'provider = "openai"\ncontext_windw = 5\nprice = "cheap"')
    found = diagnose(tmp_path, text)
    assert [(d.code, d.span.line) for d in found] == [("POLC102", 19), ("POLC102", 20)]
    assert "context_window" in found[0].hint


def test_missing_provider(tmp_path):
    found = diagnose(tmp_path, BASE + MODELS.replace('provider = "openai"\n', ""))
    assert findings(found) == [("POLC514", "model_policy.toml", 17, 1)]


@pytest.mark.parametrize("value, expected", [
    ("2026-12-01", [("POLC516", 19)]),       # 8 days away: within the 30-day window
    ("2026-11-01", [("POLC517", 19)]),       # in the past
    ("2027-06-30", []),                      # far away
    ('"2026-12-01"', [("POLC516", 19)]),     # the string form works the same
    ('"next year"', [("POLC515", 19)]),
    ("2026-12-01T10:00:00Z", [("POLC515", 19)]),  # a date-time is not a day
    ("5", [("POLC515", 19)]),
])
def test_retirement_dates(tmp_path, value, expected):
    text = BASE + MODELS.replace('provider = "openai"', f'provider = "openai"\nretires_on = {value}')
    assert [(c, line) for c, _, line, _ in findings(diagnose(tmp_path, text))] == expected


def test_retirement_window_is_configurable(tmp_path):
    text = BASE + MODELS.replace('provider = "openai"', 'provider = "openai"\nretires_on = 2027-01-10')
    assert findings(diagnose(tmp_path, text)) == []  # 48 days: outside the default 30
    found = diagnose(tmp_path, text, project_extra="[check]\nretirement_warning_days = 60\n")
    assert [d.code for d in found] == ["POLC516"] and "60 days" in found[0].hint
    assert diagnose(tmp_path, text, project_extra="[check]\nretirement_warning_days = -1\n")[0].code == "POLC011"


def test_retirement_warning_uses_source_date_epoch_when_no_day_is_given(tmp_path, monkeypatch):
    from compiler import check

    from .helpers import project

    root = project(tmp_path, BASE + MODELS.replace('provider = "openai"', 'provider = "openai"\nretires_on = '
                                                                        '2030-01-10'))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(_dt.datetime(2030, 1, 1, tzinfo=_dt.timezone.utc).timestamp())))
    assert [d.code for d in check(root)] == ["POLC516"]


def test_snapshot_block_and_runtime_lookup(tmp_path):
    text = BASE + MODELS.replace('provider = "openai"', 'provider = "openai"\nretires_on = 2027-06-30')
    block = compile_ok(tmp_path, text).snapshot["model_config"]
    assert block["gpt-4o"] == {"provider": "openai", "context_window": 128000, "max_output_tokens": None,
                               "temperature": None, "input_price_per_mtok": None, "output_price_per_mtok": None,
                               "retires_on": "2027-06-30"}
    m = model_config(block, "claude-sonnet-4-20250514")
    assert m.cost(input_tokens=2_000_000, output_tokens=1_000_000) == 21.0
    assert model_config(block, "gpt-4o").retires_on == _dt.date(2027, 6, 30)
    assert model_config(block, "gpt-4o").retired(_dt.date(2027, 7, 1))
    assert model_config(block, "gpt-4o").cost(input_tokens=1) is None
    with pytest.raises(UnknownModel) as info:
        model_config(block, "gpt-4")
    assert "did you mean `gpt-4o`" in info.value.diagnostics[0].hint and info.value.exit_code == 2
    assert model_config({"default": {"provider": "x"}}, "anything").from_default


def test_output_limit_from_the_default_is_checked_against_the_entry(tmp_path):
    text = BASE + '\n[model_config.default]\nprovider = "openai"\nmax_output_tokens = 8192\n' \
                  '\n[model_config.gpt-4o]\ncontext_window = 4096\n'
    found = diagnose(tmp_path, text)
    assert findings(found) == [("POLC513", "model_policy.toml", 16, 18)]
    assert "[model_config.default]" in found[0].hint
