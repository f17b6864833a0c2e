"""Golden fixtures of the catalogue stages: ``fixtures/lower_catalog/<case>/`` is a project;
``expected.blocks.json`` holds the four snapshot blocks and the manifest sections it lowers to,
``expected.diagnostics.json`` every diagnostic (code, severity, position, message).

Regenerate for review with ``make fixtures`` (POLC_REGEN_FIXTURES=1); git diff shows what moved.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from compiler import build

from .helpers import TODAY

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lower_catalog"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "policy.toml").exists())
BLOCKS = ("model_config", "weights", "prompts", "optimizer")


def _dump(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@pytest.mark.parametrize("case", CASES)
def test_golden_lower_catalog(case, tmp_path):
    root = tmp_path / case
    shutil.copytree(FIXTURES / case, root, ignore=shutil.ignore_patterns("expected.*"))
    result = build(root, out_dir=tmp_path / "out", today=TODAY)
    produced = {"expected.diagnostics.json": _dump([d.to_json() for d in result.diagnostics])}
    if result.ok:
        manifest = result.compilation["manifest"]
        produced["expected.blocks.json"] = _dump({
            "snapshot": {block: result.snapshot.get(block) for block in BLOCKS},
            "manifest": {key: manifest.get(key) for key in ("optimizer", "training_context")},
            "source_files": result.snapshot["source_files"]})
    for name, data in produced.items():
        path = FIXTURES / case / name
        if os.environ.get("POLC_REGEN_FIXTURES"):
            path.write_bytes(data)
        assert data == path.read_bytes(), f"{case}/{name} differs; run `make fixtures` and review the diff"
