"""`polc diff` as users run it: exit codes, formats, --fail-on, --output, color, bad arguments."""

from __future__ import annotations

import json
import os

import pytest

from compiler.diff.verdict import exit_code, status_of
from compiler.diff.model import Finding, Severity
from tests.conftest import make_project, run_polc

from .helpers import EXAMPLE_POLICY, commit_policy, edit, git_repo

# NEW adds a model to a role (a WARN drift rule) and raises a budget a little (no rule).
NEW = edit(EXAMPLE_POLICY, ('judge = ["claude-sonnet-4-20250514"]', 'judge = ["claude-sonnet-4-20250514", "gpt-4o"]'),
           ("plan = 8000", "plan = 9000"))
WIDER = edit(EXAMPLE_POLICY, ('mode = "prompts_only"', 'mode = "full_io"'))


@pytest.fixture
def projects(tmp_path):
    make_project(tmp_path / "old", EXAMPLE_POLICY)
    make_project(tmp_path / "new", NEW)
    make_project(tmp_path / "broken", edit(EXAMPLE_POLICY, ("plan = 8000", 'plan = "lots"')))
    return tmp_path


def polc_in_process(cwd, *args, env=None):
    """The click command in this process (fast); the subprocess tests below cover `python -m compiler`."""
    from click.testing import CliRunner

    from compiler.cli import cli

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", **(env or {})})
    finally:
        os.chdir(old)


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif", "github"])
def test_every_format_prints_and_exits_0_without_block(projects, fmt):
    done = polc_in_process(projects, "diff", "old", "new", "--format", fmt)
    assert done.exit_code == 0, done.output
    assert "budgets.tokens.plan" in done.output or fmt in ("sarif", "github")
    assert "DR_ROUTING_MODEL_ADDED" in done.output
    if fmt in ("json", "sarif"):
        json.loads(done.output)


def test_new_that_does_not_compile_exits_1_with_the_compiler_diagnostics(projects):
    done = run_polc("diff", "old", "broken", cwd=projects)
    assert done.returncode == 1
    assert "POLC401" in done.stdout and "broken/model_policy.toml:16:8: error[POLC101]" in done.stdout
    assert run_polc("diff", "old", "broken", "--fail-on", "never", cwd=projects).returncode == 0


def test_json_report_of_a_block(projects):
    data = json.loads(run_polc("diff", "old", "broken", "--format", "json", cwd=projects).stdout)
    assert data["status"] == "BLOCK" and data["exit_code"] == 1
    assert data["findings"][0]["diagnostics"][0]["code"] == "POLC101"


def test_output_file_and_no_color(projects):
    done = polc_in_process(projects, "diff", "old", "new", "--format", "markdown", "-o", "report.md")
    assert done.exit_code == 0 and done.output == ""
    assert (projects / "report.md").read_text().startswith("### polc diff: ⚠️ WARN")
    colored = polc_in_process(projects, "diff", "old", "new", "--color", "always", env={"NO_COLOR": ""})
    assert "\x1b[" in colored.output
    assert "\x1b[" not in polc_in_process(projects, "diff", "old", "new").output  # not a terminal


def test_bad_inputs_exit_3_or_2_without_traceback(projects):
    for args, code in ((("diff", "old", "missing/x.json"), 3), (("diff", "main"), 3), (("diff",), 2),
                       (("diff", "a", "b", "--against", "c"), 2), (("diff", "old", "new", "--format", "yaml"), 2)):
        done = run_polc(*args, cwd=projects)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout


def test_block_drift_exits_1_unless_fail_on_never(projects):
    make_project(projects / "wider", WIDER)
    done = polc_in_process(projects, "diff", "old", "wider")
    assert done.exit_code == 1 and "BLOCK  DR_CAPTURE_WIDENED" in done.output
    assert polc_in_process(projects, "diff", "old", "wider", "--fail-on", "never").exit_code == 0
    assert polc_in_process(projects, "diff", "old", "new", "--fail-on", "warn").exit_code == 1


def test_git_revisions_from_the_command_line(tmp_path):
    repo = git_repo(tmp_path / "repo")
    commit_policy(repo, WIDER)
    done = run_polc("diff", "main~1", "main", cwd=repo)
    assert done.returncode == 1 and 'capture.mode: "prompts_only" → "full_io"' in done.stdout
    assert run_polc("diff", "--against", "HEAD", "--format", "json", cwd=repo).returncode == 0
    missing = run_polc("diff", "v9.9", cwd=repo)
    assert missing.returncode == 3 and "unknown revision `v9.9`" in missing.stderr


def test_integrity_failure_exits_4(projects):
    from .helpers import snapshot_of, write_snapshot

    snap = snapshot_of(projects)
    snap["budgets"]["tokens"]["plan"] = 1
    write_snapshot(projects / "bad.json", snap)
    done = run_polc("diff", "bad.json", "new", cwd=projects)
    assert done.returncode == 4 and "POLC702" in done.stderr


@pytest.mark.parametrize("severities, status", [((), "OK"), (("INFO",), "OK"), (("INFO", "WARN"), "WARN"),
                                                (("WARN", "BLOCK", "INFO"), "BLOCK")])
def test_status_is_the_highest_severity(severities, status):
    assert status_of([Finding("R", Severity(s), "m") for s in severities]) == status


@pytest.mark.parametrize("status, fail_on, code", [
    ("OK", "block", 0), ("WARN", "block", 0), ("BLOCK", "block", 1), ("OK", "warn", 0), ("WARN", "warn", 1),
    ("BLOCK", "warn", 1), ("BLOCK", "never", 0), ("WARN", "never", 0)])
def test_exit_code_table(status, fail_on, code):
    assert exit_code(status, fail_on) == code


def test_doctests_of_the_diff_package():
    import doctest
    import importlib
    import pkgutil

    import compiler.diff

    for info in pkgutil.iter_modules(compiler.diff.__path__):
        module = importlib.import_module(f"compiler.diff.{info.name}")
        result = doctest.testmod(module)
        assert result.failed == 0, info.name
