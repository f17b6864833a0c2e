"""Prompt rendering limits (the docstring examples of every module run in tests/test_docstrings.py)."""

from __future__ import annotations

import pytest


def test_render_limits_can_be_lowered_and_raised_per_prompt():
    from compiler.runtime.prompts import Prompt, PromptBudgetError

    prompt = Prompt("loop", "{% for i in range(500) %}.{% endfor %}")
    assert len(prompt.render()) == 500
    with pytest.raises(PromptBudgetError, match="more than 100 operations"):
        prompt.with_limits(max_operations=100).render()
    with pytest.raises(PromptBudgetError, match="output passed 10 characters"):
        prompt.with_limits(max_output_chars=10).render()
    assert len(Prompt("big", "{{ 'x' * 20000000 }}").with_limits(max_output_chars=30_000_000).render()) == 20_000_000
