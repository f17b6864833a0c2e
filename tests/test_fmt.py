"""polc fmt: canonical layout, comments kept, meaning never changed, idempotent."""

from __future__ import annotations

import pytest

from compiler.fmt import FormatError, format_toml

from .conftest import EXAMPLE_POLICY, make_project, run_polc

MESSY = '''[routing.cloud]
architect=["a", "b"]   # first choice first
judge = [
  "x",   \n
  "y" # c
]



# comments above a header stay with it
[ budgets . cost ]
hard_limit=25.0
note = """keep  \ntrailing"""
[capture]
mode="none"
'''


def test_layout_rules():
    out = format_toml(MESSY)
    assert 'architect = ["a", "b"]  # first choice first' in out
    assert "\n\n\n" not in out
    assert "\n\n# comments above a header stay with it\n[budgets.cost]\n" in out
    assert 'note = """keep  \ntrailing"""' in out  # string content is never touched
    assert "\n\n[capture]\nmode = \"none\"\n" in out
    assert out.endswith("\n") and not out.endswith("\n\n")


def test_idempotent_and_meaning_preserving():
    import tomlkit

    once = format_toml(MESSY)
    assert format_toml(once) == once
    assert tomlkit.parse(once).unwrap() == tomlkit.parse(MESSY).unwrap()


def test_spec_example_is_already_canonical():
    assert format_toml(EXAMPLE_POLICY) == EXAMPLE_POLICY


def test_cli_check_and_write(tmp_path):
    root = make_project(tmp_path / "p", MESSY.replace("[ budgets . cost ]", "[budgets.cost]"))
    result = run_polc("fmt", "--check", cwd=root)
    assert result.returncode == 1 and "would reformat model_policy.toml" in result.stderr
    assert run_polc("fmt", cwd=root).returncode == 0
    assert run_polc("fmt", "--check", cwd=root).returncode == 0


def test_cli_invalid_toml_is_exit_3_and_untouched(tmp_path):
    root = make_project(tmp_path / "p", "[routing\n")
    result = run_polc("fmt", cwd=root)
    assert result.returncode == 3 and "POLC006" in result.stderr
    assert (root / "model_policy.toml").read_text() == "[routing\n"


def test_refuses_a_change_of_meaning(monkeypatch):
    import compiler.fmt as fmt

    monkeypatch.setattr(fmt, "_format_lines", lambda lines: ["a = 2"])
    with pytest.raises(FormatError):
        fmt.format_toml("a = 1\n")
