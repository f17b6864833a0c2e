"""The rules block lowered from tests/fixtures/lower_rules/<case>/input.rules, byte for byte.

The expected block (expected.json) pins the expression IR format (docs/cel.md, "The
expression IR"): any change to what a snapshot carries shows as a diff of this file.
Regenerate for review with ``make fixtures`` (POLC_REGEN_FIXTURES=1).
"""

from __future__ import annotations

import json
import os

import pytest

from compiler.canonical import canonical_json
from compiler.rules.check import check_rules
from compiler.rules.loader import load_rules_from_texts
from compiler.rules.lower import lower_rules_block
from compiler.rules.runtime import build_gate
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "lower_rules"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
PARAMS = {"g_example": {"factor": 1.5}}


def lowered(case: str) -> dict:
    text = (FIXTURES / case / "input.rules").read_text(encoding="utf-8")
    rules = load_rules_from_texts({f"rules/{case}.rules": text}, stdlib=False)
    checked = check_rules(rules, PARAMS)
    assert [d for d in (*rules.diagnostics, *checked.diagnostics) if d.is_error] == []
    return lower_rules_block(checked)


@pytest.mark.parametrize("case", CASES)
def test_lower_rules_golden(case):
    block = lowered(case)
    canonical_json(block)  # the snapshot is hashed as RFC 8785: the block must encode exactly
    expected = FIXTURES / case / "expected.json"
    if os.environ.get("POLC_REGEN_FIXTURES"):
        expected.write_text(json.dumps(block, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    assert block == json.loads(expected.read_text(encoding="utf-8"))


def test_the_golden_block_evaluates():
    block = json.loads((FIXTURES / "example" / "expected.json").read_text(encoding="utf-8"))
    gate = build_gate(block, "g_example", PARAMS["g_example"])
    metrics = {"p95": 1800, "models": ["claude-x"], "tags": {"k": 2}, "note": "n"}
    assert gate.evaluate(metrics).passed
    failed = gate.evaluate({**metrics, "p95": 4000})
    assert failed.failures[0].message == "p95 4000 is above 3000 (3000)"
