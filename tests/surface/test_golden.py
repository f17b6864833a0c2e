"""Golden fixtures of lower_surface: ``tests/fixtures/lower_surface/<case>/input.yaml`` →
``expected.surface.yaml`` (the bundle file) and ``expected.block.json`` (the snapshot block).

Regenerate for review with ``make fixtures`` (POLC_REGEN_FIXTURES=1); git diff shows what moved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compiler.sources import Source
from compiler.surface import checks
from compiler.surface.normalize import normalize, to_yaml
from compiler.surface.yaml_front import parse_yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lower_surface"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "input.yaml").exists())


@pytest.mark.parametrize("case", CASES)
def test_golden_lower_surface(case):
    text = (FIXTURES / case / "input.yaml").read_text(encoding="utf-8")
    doc = parse_yaml(Source("input.yaml", None, text, "", len(text)))
    assert not [d for d in checks.check_schema(doc) + checks.check_semantics(doc) if d.is_error]
    surface = normalize(doc.data)
    produced = {"expected.surface.yaml": to_yaml(surface),
                "expected.block.json": (json.dumps(surface, indent=2, sort_keys=True) + "\n").encode()}
    for name, data in produced.items():
        path = FIXTURES / case / name
        if os.environ.get("POLC_REGEN_FIXTURES"):
            path.write_bytes(data)
        assert data == path.read_bytes(), f"{case}/{name} differs; run `make fixtures` and review the diff"
