"""Helpers for the drift-review tests: projects, snapshots and git repositories in tmp dirs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import EXAMPLE_POLICY, make_project

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def edit(text: str, *pairs: tuple[str, str]) -> str:
    """``text`` with each (old, new) replaced once; fails loudly when ``old`` is absent."""
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def snapshot_of(tmp: Path, model_policy: str = EXAMPLE_POLICY, name: str = "p") -> dict:
    from compiler.diff.inputs import compile_project
    from compiler.diff.model import SideInfo

    root = make_project(tmp / name, model_policy)
    side = compile_project(root, SideInfo(name, "source"), tmp)
    assert side.compiled, side.diagnostics
    return side.snapshot


def write_snapshot(path: Path, snapshot: dict) -> Path:
    from compiler.canonical import canonical_json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical_json(snapshot))
    return path


def git(repo: Path, *args: str) -> str:
    import os

    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return done.stdout.strip()


def git_repo(root: Path, model_policy: str = EXAMPLE_POLICY, project_extra: str = "") -> Path:
    """A git repository with one commit holding a project."""
    make_project(root, model_policy, project_extra=project_extra)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "policy")
    return root


def commit_policy(repo: Path, model_policy: str, message: str = "change") -> None:
    (repo / "model_policy.toml").write_text(model_policy, encoding="utf-8")
    git(repo, "commit", "-q", "-am", message)


def load_json(text: str) -> dict:
    return json.loads(text)
