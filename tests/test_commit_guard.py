"""Spec 000 §8: the ledger snapshot command, the shipped pre-commit hooks and the guard script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import EXAMPLE_POLICY, REPO, make_project, run_polc


def test_ledger_snapshot_records_drift_against_the_previous_row(tmp_path):
    root = make_project(tmp_path / "p")
    assert run_polc("build", cwd=root).returncode == 0
    first = run_polc("ledger", "snapshot", "--notes", "baseline", "--format", "json", cwd=root)
    assert first.returncode == 0, first.stderr
    row = json.loads(first.stdout)
    assert row["event"] == "snapshot" and row["details"]["drift_status"] == "OK"
    assert row["details"]["notes"] == "baseline" and row["details"]["against"] is None
    (root / "model_policy.toml").write_text(EXAMPLE_POLICY.replace('"prompts_only"', '"full_io"'), encoding="utf-8")
    assert run_polc("build", cwd=root).returncode == 0
    second = run_polc("ledger", "snapshot", "--notes", "widen capture", "--format", "json", cwd=root)
    assert second.returncode == 1, second.stdout + second.stderr
    row2 = json.loads(second.stdout)
    assert row2["details"]["against"] == row["hash"] and row2["details"]["drift_status"] == "BLOCK"
    assert [f["rule_id"] for f in row2["details"]["drift_findings"]] == ["DR_CAPTURE_WIDENED"]
    assert {"hash", "manifest_sha256", "time", "prev_sha256"} <= set(row2)
    assert run_polc("ledger", "verify", cwd=root).returncode == 0


def test_ledger_snapshot_without_a_build_is_a_clean_error(tmp_path):
    root = make_project(tmp_path / "p")
    result = run_polc("ledger", "snapshot", "--notes", "x", cwd=root)
    assert result.returncode == 3 and "Traceback" not in result.stderr


def test_shipped_pre_commit_hooks_name_real_commands():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"polc-check", "polc-drift"}
    for hook in hooks:
        argv = hook["entry"].split()
        assert argv[0] == "polc"
        help_run = run_polc(*argv[1:2], "--help")
        assert help_run.returncode == 0, help_run.stderr


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


def test_guard_script_blocks_unapproved_block_drift(tmp_path):
    root = make_project(tmp_path / "repo")
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "policy", cwd=root)
    guard = REPO / ".githooks" / "policy_drift_guard.sh"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1",
           "POLC": shutil.which("polc", path=str(Path(sys.executable).parent)) or "polc"}
    clean = subprocess.run(["bash", str(guard)], cwd=root, env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (root / "model_policy.toml").write_text(EXAMPLE_POLICY.replace('"prompts_only"', '"full_io"'), encoding="utf-8")
    blocked = subprocess.run(["bash", str(guard)], cwd=root, env=env, capture_output=True, text=True)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "DR_CAPTURE_WIDENED" in blocked.stdout
