"""The worked example (examples/full) built twice: as it is (OLD) and with a change (NEW)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from compiler import build
from compiler.runtime import load_snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "full"

#: NEW: the implementer's canary grows from 10% to 50%, and the reflex gate's latency limit tightens.
CHANGES = (('"claude-sonnet-4-20250514" = 90\ngpt-4o = 10', '"claude-sonnet-4-20250514" = 50\ngpt-4o = 50'),
           ("p95_latency_ms = 2000", "p95_latency_ms = 1500"))


def copy_example(root: Path, changes=(), *, build_it: bool = True) -> Path:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("artifacts"))
    policy = root / "model_policy.toml"
    text = policy.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    policy.write_text(text, encoding="utf-8")
    if not build_it:
        return root
    result = build(root, out_dir=root / "out")
    assert result.ok, [d.message for d in result.diagnostics]
    return root / "out"


@pytest.fixture(scope="session")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """(OLD out dir, NEW out dir), each holding policy.json."""
    base = tmp_path_factory.mktemp("impact")
    return copy_example(base / "old"), copy_example(base / "new", CHANGES)


@pytest.fixture(scope="session")
def snapshots(pair):
    return load_snapshot(pair[0] / "policy.json"), load_snapshot(pair[1] / "policy.json")


@pytest.fixture
def no_fsync(monkeypatch):
    """Durability is not under test here: recording a thousand runs must not wait on the disk."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)
