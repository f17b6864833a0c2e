"""`polc init [DIR]` writes a project that builds at once and never overwrites a file;
`polc validate` is `polc check` plus `polc verify` of the built bundles and head, one exit code."""

from __future__ import annotations

import json

from .conftest import example_project, run_polc

INIT_FILES = ["policy.toml", "model_policy.toml", "docs/MODEL-POLICY.md", ".pre-commit-config.yaml"]


def test_init_writes_a_project_that_builds_at_once(tmp_path):
    done = run_polc("init", "new-policy", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == INIT_FILES
    root = tmp_path / "new-policy"
    assert 'name = "new-policy"' in (root / "policy.toml").read_text()
    assert "# " in (root / "model_policy.toml").read_text()  # commented examples
    assert "polc check" in (root / ".pre-commit-config.yaml").read_text()
    import yaml

    hooks = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert [h["id"] for h in hooks] == ["polc-check"]
    checked = run_polc("check", cwd=root)
    assert checked.returncode == 0, checked.stdout  # no warnings either: the doc contract is met
    assert checked.stdout == "ok: 0 problems in 3 files\n"  # a clean check says so in one line
    built = run_polc("build", cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    routed = run_polc("route", "architect", cwd=root)
    assert routed.returncode == 0 and "claude-sonnet-4-20250514" in routed.stdout


def test_init_never_overwrites_a_file(tmp_path):
    (tmp_path / "model_policy.toml").write_text("# mine\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "MODEL-POLICY.md").write_text("mine\n")
    done = run_polc("init", cwd=tmp_path)
    assert done.returncode == 0
    assert "kept    model_policy.toml" in done.stdout and "created policy.toml" in done.stdout
    assert (tmp_path / "model_policy.toml").read_text() == "# mine\n"
    assert (tmp_path / "docs" / "MODEL-POLICY.md").read_text() == "mine\n"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = run_polc("init", str(tmp_path), "--format", "json", cwd=tmp_path)
    assert json.loads(again.stdout)["created"] == [] and sorted(json.loads(again.stdout)["kept"]) == sorted(INIT_FILES)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temp files left behind


def test_init_into_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "taken").write_text("x")
    refused = run_polc("init", "taken", cwd=tmp_path)
    assert refused.returncode == 2 and "POLC032" in refused.stderr


def test_validate_checks_sources_and_verifies_the_build_in_one_exit_code(tmp_path):
    root = example_project(tmp_path / "example")
    fresh = run_polc("validate", "--format", "json", cwd=root)
    assert fresh.returncode == 0  # nothing built yet: a note, the sources are fine
    assert [d["code"] for d in json.loads(fresh.stdout)["diagnostics"]] == ["POLC034"]
    assert run_polc("build", cwd=root).returncode == 0
    ok = run_polc("validate", cwd=root)
    assert ok.returncode == 0 and "verified" in ok.stderr
    assert json.loads(run_polc("validate", "--format", "json", cwd=root).stdout)["diagnostics"] == []
    out = root / "artifacts" / "policy"
    head = json.loads((out / "policy.json").read_text())["active"]
    manifest = out / head / "policy.manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"candidate"', b'"promoted"'))  # tampering
    tampered = run_polc("validate", cwd=root)
    assert tampered.returncode == 4 and "POLC703" in tampered.stdout
    policy = root / "examples" / "model_policy.toml"
    policy.write_text(policy.read_text().replace("plan = 8000", "plan = 9000"))
    stale = run_polc("validate", "--format", "json", cwd=root)
    assert stale.returncode == 4 and "POLC035" in [d["code"] for d in json.loads(stale.stdout)["diagnostics"]]
    policy.write_text(policy.read_text().replace('mode = "prompts_only"', 'mode = "prompt_only"'))
    both = run_polc("validate", "--format", "json", cwd=root)
    codes = [d["code"] for d in json.loads(both.stdout)["diagnostics"]]
    assert both.returncode == 4 and "POLC104" in codes and "POLC703" in codes  # the worst exit wins
    assert any(d["code"] == "POLC104" and d["line"] for d in json.loads(both.stdout)["diagnostics"])


def test_help_lists_the_new_commands():
    listed = run_polc("--help")
    for command in ("init", "validate", "gc"):
        assert f"  {command} " in listed.stdout, command
