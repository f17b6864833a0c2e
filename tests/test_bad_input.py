"""Bad input never crashes: each case is a diagnostic with a location, the right exit code,
no traceback, and nothing half-written in the output directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import EXAMPLE_POLICY, make_project, run_polc


def assert_clean_failure(result, exit_code: int, *fragments: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, output


def no_partial_files(out_dir: Path) -> bool:
    if not out_dir.exists():
        return True
    leftovers = [p for p in out_dir.rglob("*") if p.name.startswith(".") or p.name.endswith((".tmp", ".partial"))]
    return not leftovers


@pytest.mark.parametrize("content, exit_code, fragments", [
    (EXAMPLE_POLICY.replace("[capture]", "[capture"), 3, ["model_policy.toml:11:", "POLC006", "invalid TOML"]),
    (EXAMPLE_POLICY.replace("store_embeddings = true", 'store_embeddings = "yes"'), 1,
     ["model_policy.toml:13:20", "POLC101", "must be a boolean"]),
    (EXAMPLE_POLICY.replace("[capture]", "[capture]\nmod = 1"), 1, ["model_policy.toml:12:1", "unknown key `mod`"]),
    (EXAMPLE_POLICY.replace('judge = ["claude-sonnet-4-20250514"]', "judge = []"), 1,
     ["model_policy.toml:4:9", "POLC110"]),
    (EXAMPLE_POLICY.replace("plan = 8000", "plan = -8000"), 1, ["model_policy.toml:16:8", "POLC120"]),
    (EXAMPLE_POLICY.replace("warn_threshold = 5.0", "warn_threshold = 50.0"), 1,
     ["model_policy.toml:21:18", "POLC121"]),
    (EXAMPLE_POLICY.replace("hard_limit = 25.0", "hard_limit = nan"), 1, ["model_policy.toml:22:14", "POLC150"]),
    (EXAMPLE_POLICY.replace("hard_limit = 25.0", "hard_limit = -inf"), 1, ["model_policy.toml:22:14", "POLC150"]),
    (EXAMPLE_POLICY.replace("stability_days = 30", f"stability_days = {2**60}"), 1,
     ["model_policy.toml:30:18", "POLC150", "2^53"]),
    (EXAMPLE_POLICY.encode("utf-8").replace(b"gpt-4o", b"gpt-4\xff", 1), 3, ["model_policy.toml:2:", "POLC003", "UTF-8"]),
    ("", 3, ["POLC007", "is empty"]),
    ("\n\n   \n", 3, ["POLC007"]),
])
@pytest.mark.parametrize("command", ["build", "check"])
def test_bad_model_policy(tmp_path, command, content, exit_code, fragments):
    root = make_project(tmp_path / "p", content)
    result = run_polc(command, cwd=root)
    assert_clean_failure(result, exit_code, *fragments)
    assert no_partial_files(root / "artifacts" / "policy")
    assert not (root / "artifacts" / "policy" / "policy.json").exists()


def test_missing_model_policy(tmp_path):
    root = make_project(tmp_path / "p")
    (root / "model_policy.toml").unlink()
    assert_clean_failure(run_polc("build", cwd=root), 3, "policy.toml:2:16", "does not exist")


def test_directory_where_a_file_is_expected(tmp_path):
    root = make_project(tmp_path / "p")
    (root / "model_policy.toml").unlink()
    (root / "model_policy.toml").mkdir()
    assert_clean_failure(run_polc("check", cwd=root), 3, "is a directory")


def test_fifty_megabyte_file_is_refused_without_reading_it(tmp_path):
    root = make_project(tmp_path / "p")
    with open(root / "model_policy.toml", "ab") as fh:
        fh.write(b"#" * (50 * 1024 * 1024))
    assert_clean_failure(run_polc("check", cwd=root), 3, "POLC004", "limit")


def test_policy_toml_pointing_outside_the_project(tmp_path):
    outside = tmp_path / "elsewhere.toml"
    outside.write_text(EXAMPLE_POLICY, encoding="utf-8")
    root = make_project(tmp_path / "p", model_policy_name="../elsewhere.toml")
    assert_clean_failure(run_polc("build", cwd=root), 3, "POLC005", "outside the project")


def test_symlink_escaping_the_project_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.toml"
    outside.write_text(EXAMPLE_POLICY, encoding="utf-8")
    root = make_project(tmp_path / "p")
    (root / "model_policy.toml").unlink()
    os.symlink(outside, root / "model_policy.toml")
    assert_clean_failure(run_polc("check", cwd=root), 3, "POLC005")


def test_out_dir_in_policy_toml_outside_the_project(tmp_path):
    root = make_project(tmp_path / "p", project_extra='[build]\nout_dir = "../out"\n')
    assert_clean_failure(run_polc("build", cwd=root), 3, "POLC005", "policy.toml:4:")
    assert not (tmp_path / "out").exists()


def test_output_directory_that_is_not_writable(tmp_path):
    root = make_project(tmp_path / "p")
    blocker = root / "artifacts"
    blocker.write_text("a file where the output directory should be", encoding="utf-8")
    assert_clean_failure(run_polc("build", cwd=root), 3, "POLC020", "not writable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_read_only_output_directory(tmp_path):
    root = make_project(tmp_path / "p")
    out = root / "artifacts" / "policy"
    out.mkdir(parents=True)
    out.chmod(0o500)
    try:
        assert_clean_failure(run_polc("build", cwd=root), 3, "POLC020")
    finally:
        out.chmod(0o700)


def test_no_policy_toml_anywhere(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_clean_failure(run_polc("check", cwd=tmp_path / "empty"), 3, "POLC001", "no policy.toml")


def test_invalid_policy_toml(tmp_path):
    root = make_project(tmp_path / "p", project_extra="[build]\nout_dri = 'x'\n")
    assert_clean_failure(run_polc("check", cwd=root), 1, "policy.toml:4:1", "POLC010", "did you mean `out_dir`")


def test_missing_required_doc_is_reported(tmp_path):
    root = make_project(tmp_path / "p", project_extra='[check]\nrequired_docs = ["docs/MODEL-POLICY.md"]\n')
    assert_clean_failure(run_polc("check", cwd=root), 1, "policy.toml:4:18", "POLC012", "docs/MODEL-POLICY.md")
    (root / "docs").mkdir()
    (root / "docs" / "MODEL-POLICY.md").write_text("# why\n", encoding="utf-8")
    assert run_polc("check", cwd=root).returncode == 0


def test_bad_flag_is_a_usage_error(tmp_path):
    root = make_project(tmp_path / "p")
    assert_clean_failure(run_polc("build", "--no-such-flag", cwd=root), 2, "No such option")
    assert_clean_failure(run_polc("check", "--format", "yaml", cwd=root), 2)


def test_bad_source_date_epoch(tmp_path):
    root = make_project(tmp_path / "p")
    assert_clean_failure(run_polc("build", cwd=root, env={"SOURCE_DATE_EPOCH": "yesterday"}), 1, "SOURCE_DATE_EPOCH")


def test_key_defined_twice(tmp_path):
    root = make_project(tmp_path / "p", EXAMPLE_POLICY.replace('mode = "prompts_only"', 'mode = "none"\nmode = "full_io"'))
    assert_clean_failure(run_polc("check", cwd=root), 3, "model_policy.toml:13:1", "POLC006", "defined twice")


def test_table_defined_twice(tmp_path):
    root = make_project(tmp_path / "p", EXAMPLE_POLICY + "\n[capture]\nmode = \"none\"\n")
    assert_clean_failure(run_polc("check", cwd=root), 3, "model_policy.toml:32:1", "POLC006", "`capture` is defined twice")
