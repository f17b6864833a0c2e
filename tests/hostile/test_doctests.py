"""The docstring examples of the modules that read hostile input run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["compiler.spelling", "compiler.sources", "compiler.fsutil", "compiler.project", "compiler.frontend.toml",
           "compiler.frontend.tomlspans", "compiler.surface.yaml_front", "compiler.storage.weights",
           "compiler.runtime.prompts", "compiler.cli.names", "compiler.snippet", "tests.hostile.generators"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_render_limits_can_be_lowered_and_raised_per_prompt():
    from compiler.runtime.prompts import Prompt, PromptBudgetError

    prompt = Prompt("loop", "{% for i in range(500) %}.{% endfor %}")
    assert len(prompt.render()) == 500
    with pytest.raises(PromptBudgetError, match="more than 100 operations"):
        prompt.with_limits(max_operations=100).render()
    with pytest.raises(PromptBudgetError, match="output passed 10 characters"):
        prompt.with_limits(max_output_chars=10).render()
    assert len(Prompt("big", "{{ 'x' * 20000000 }}").with_limits(max_output_chars=30_000_000).render()) == 20_000_000
