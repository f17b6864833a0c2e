"""Shared test helpers: temporary polc projects and running the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def missing_service(what: str, how: str) -> None:
    """A real component a test needs is not here: under CI=true (.ci/run starts every one) the test
    fails, so a CI run can never pass by skipping; elsewhere it is skipped, saying ``how`` to get it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {what}: .ci/run provides it, and these tests must run in CI")
    pytest.skip(f"{what} ({how})")
EXAMPLE_POLICY = (REPO / "examples" / "model_policy.toml").read_text(encoding="utf-8")


def make_project(root: Path, model_policy: str | bytes = EXAMPLE_POLICY, *, project_extra: str = "",
                 model_policy_name: str = "model_policy.toml") -> Path:
    """A minimal project: policy.toml naming one model_policy.toml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "policy.toml").write_text(
        f'[sources]\nmodel_policy = "{model_policy_name}"\n{project_extra}', encoding="utf-8")
    target = root / model_policy_name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(model_policy, bytes):
        target.write_bytes(model_policy)
    else:
        target.write_text(model_policy, encoding="utf-8")
    return root


def example_project(root: Path, *, extra: str = "", weights=None) -> Path:
    """A copy of the repository's example project (policy.toml + examples/: the spec examples),
    with ``extra`` appended to policy.toml and, given an array, ``[sources].weights``."""
    import shutil

    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "examples", root / "examples")
    text = (REPO / "policy.toml").read_text(encoding="utf-8")
    if weights is not None:
        import numpy as np

        with open(root / "examples" / "weights.npy", "wb") as fh:
            np.save(fh, np.asarray(weights), allow_pickle=False)
        text = text.replace("[sources]\n", '[sources]\nweights = "examples/weights.npy"\n')
    (root / "policy.toml").write_text(text + extra, encoding="utf-8")
    return root


def run_polc(*args: str, cwd: Path | str | None = None, env: dict | None = None,
             input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m compiler ARGS`` in a fresh process, as a user would run polc."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, input=input, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


# Hypothesis profiles. Tests choose their own example counts; the fuzz tests of tests/hostile run a
# fixed, derandomized set by default (CI) and many random examples under
# `pytest --hypothesis-profile=long` (a long local run, e.g. before a release).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("long", max_examples=2000, deadline=None)
