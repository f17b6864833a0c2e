"""Zero-config: `polc check FILE` / `polc build FILE` on a lone model_policy.toml (no policy.toml
in its directory or above) compile it with default settings; inside a project the project's rules
apply."""

from __future__ import annotations

import json
import shutil

import pytest

from compiler.runtime import load_snapshot

from .conftest import REPO, make_project, run_polc

SPEC_EXAMPLE = REPO / "examples" / "model_policy.toml"  # the blocks of spec 001, as written there


@pytest.fixture
def lone(tmp_path):
    folder = tmp_path / "lone"
    folder.mkdir()
    assert not any((p / "policy.toml").exists() for p in (folder, *folder.parents))
    shutil.copy(SPEC_EXAMPLE, folder / "model_policy.toml")
    return folder


def test_check_and_build_a_lone_policy_file(lone):
    checked = run_polc("check", "model_policy.toml", cwd=lone)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "unknown key" not in checked.stdout
    built = run_polc("build", "model_policy.toml", "--format", "json", cwd=lone)
    assert built.returncode == 0, built.stdout + built.stderr
    report = json.loads(built.stdout)
    assert report["bundle"] == str(lone / "artifacts" / "policy" / report["hash"])  # out dir beside the file
    snap = load_snapshot(lone / "artifacts" / "policy" / "policy.json")
    assert snap.hash == report["hash"] and [c.model for c in snap.route("architect")][0] == "claude-sonnet-4-20250514"
    assert list(snap.data["source_files"]) == ["model_policy.toml"]
    elsewhere = run_polc("build", str(lone / "model_policy.toml"), cwd=lone.parent)  # same result from anywhere
    assert elsewhere.returncode == 0 and elsewhere.stdout.strip() == report["hash"]


def test_a_lone_file_with_errors_gets_positioned_diagnostics(lone):
    policy = lone / "model_policy.toml"
    policy.write_text(policy.read_text().replace('mode = "prompts_only"', 'mode = "prompt_only"'))
    checked = run_polc("check", str(policy), "--format", "json", cwd=lone)
    assert checked.returncode == 1
    found = json.loads(checked.stdout)["diagnostics"]
    assert found[0]["file"] == "model_policy.toml" and found[0]["line"] > 1
    assert "prompts_only" in (found[0].get("hint") or "")


def test_inside_a_project_the_project_rules_apply(tmp_path):
    root = make_project(tmp_path / "proj", project_extra='[check]\nrequired_docs = ["docs/MODEL-POLICY.md"]\n')
    own = run_polc("check", "model_policy.toml", cwd=root)
    assert own.returncode == 1 and "POLC012" in own.stdout  # the project's doc contract still applies
    shutil.copy(SPEC_EXAMPLE, root / "other.toml")
    other = run_polc("check", "other.toml", cwd=root)
    assert other.returncode == 2 and "POLC030" in other.stdout and "model_policy.toml" in other.stdout
    (root / "ci.toml").write_text('[sources]\nmodel_policy = "model_policy.toml"\n')  # a project file by another name
    assert run_polc("check", "ci.toml", cwd=root).returncode == 0


def test_no_policy_toml_and_no_file_says_how_to_start(tmp_path):
    result = run_polc("check", cwd=tmp_path)
    assert result.returncode == 3 and "polc init" in result.stdout + result.stderr
