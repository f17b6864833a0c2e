"""The docstring examples of the decision-impact modules run as tests (they are their documentation)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["compiler.impact.amounts", "compiler.impact.prover", "compiler.impact.budget_report",
           "compiler.impact.replay", "compiler.impact.replay_inputs", "compiler.impact.replay_report",
           "compiler.passes.budget_proof", "compiler.diff.impact_review", "compiler.diff.render_impact",
           "compiler.runtime.records", "compiler.runtime.shadow"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
