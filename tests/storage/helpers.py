"""Helpers of the storage tests: seeded bundles, deltas on disk, the example surface block."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from compiler.sources import Source
from compiler.storage.seed import seed_bundle
from compiler.surface.normalize import normalize
from compiler.surface.yaml_front import parse_yaml

from ..conftest import REPO

SURFACE = normalize(parse_yaml(Source("x", None, (REPO / "examples" / "policy.surface.yaml").read_text(), "", 0)).data)


def seeded(out: Path, n: int = 16, dtype=np.float64, surface: dict | None = SURFACE):
    out.mkdir(parents=True, exist_ok=True)
    return seed_bundle(out, np.linspace(-1, 1, n).astype(dtype), surface, created_at="2026-01-01T00:00:00Z")


def save(path: Path, array) -> Path:
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    return path


def head(out: Path) -> str:
    return json.loads((out / "policy.json").read_bytes())["active"]


def log_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
