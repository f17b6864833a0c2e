"""The docstring examples of the catalogue modules run as tests (they are the modules' documentation)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["compiler.passes.catalog", "compiler.passes.model_config", "compiler.passes.weights",
           "compiler.passes.prompts", "compiler.passes.optimizer", "compiler.runtime.models",
           "compiler.runtime.split", "compiler.runtime.prompts", "compiler.diff.prompt_review"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
