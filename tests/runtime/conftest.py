"""Real bundles for the runtime tests, built by the compiler from temporary projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import build
from tests.conftest import make_project

#: A policy with every routing feature: reflex for two roles behind a gate, fallbacks, stages.
RICH_POLICY = """\
[routing.cloud]
architect = ["claude-sonnet-4-20250514", "gpt-4o"]
implementer = ["claude-sonnet-4-20250514", "gpt-4o"]
judge = ["claude-sonnet-4-20250514"]

[routing.reflex]
enabled = true
endpoint = "http://127.0.0.1:3009/v1"
model = "qwen2.5-coder-7b-instruct"
roles = ["implementer", "judge"]
gate = "reflex_promotion"

[routing.fallback]
implementer = ["gpt-4o", "gpt-4o-mini"]

[routing.stages]
plan = "architect"
tasks = "architect"
implement = "implementer"

[capture]
mode = "prompts_only"
store_embeddings = true

[budgets.tokens]
plan = 8000
tasks = 4000
implement = 6000

[budgets.cost]
warn_threshold = 5.0
hard_limit = 25.0

[gates.reflex_promotion]
p95_latency_ms = 2000
success_parity_percent = 85

[gates.local_memory_sunset]
retrieval_p95_parity = true
stability_days = 30
"""


def build_project(root: Path, policy: str = RICH_POLICY, *, project_extra: str = "") -> Path:
    """Build ``policy`` in a project at ``root``; returns the out dir (holding policy.json)."""
    make_project(root, policy, project_extra=project_extra)
    result = build(root)
    assert result.ok, [d.message for d in result.diagnostics]
    return result.bundle_dir.parent


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return build_project(tmp_path / "proj")


@pytest.fixture
def example_out_dir(tmp_path: Path) -> Path:
    from tests.conftest import EXAMPLE_POLICY

    return build_project(tmp_path / "example", EXAMPLE_POLICY)


@pytest.fixture
def small_out_dir(tmp_path: Path) -> Path:
    """The example policy without the stdlib rules: a ~1 KB snapshot, for byte-by-byte tampering."""
    from tests.conftest import EXAMPLE_POLICY

    return build_project(tmp_path / "small", EXAMPLE_POLICY, project_extra="[rules]\nstdlib = false\n")
