"""The pipeline as declared data: stages name the units they read and write, the runner holds
them to it, and one run reports every independent problem."""

from __future__ import annotations

import pytest

from compiler.compilation import ACCUMULATED, Compilation, StageOutput, UndeclaredUnit, stage
from compiler.errors import UsageError
from compiler.pipeline import compile_snapshot, run_pipeline, stages

from .conftest import EXAMPLE_POLICY, make_project


def codes(diagnostics) -> list[str]:
    return [d.code for d in diagnostics]


def test_every_unit_a_stage_reads_is_written_by_an_earlier_stage():
    written: set[str] = set()
    for s in stages():
        assert s.name.split("_", 1)[0] in ("parse", "check", "lower", "emit"), s.name
        missing = set(s.reads) - written
        assert not missing, f"{s.name} reads {sorted(missing)} before any stage writes them"
        written |= set(s.writes)


def test_a_stage_that_reads_an_undeclared_unit_is_a_bug_not_a_finding():
    c = Compilation(project=None, units={"model_policy": 1, "secret": 2})
    view = c.view(("model_policy",))
    assert view["model_policy"] == 1
    with pytest.raises(UndeclaredUnit, match="secret"):
        view.get("secret")


def test_a_stage_that_writes_an_undeclared_unit_stops_the_run(project, monkeypatch):
    import compiler.pipeline as pipeline

    @stage(writes=("declared",))
    def parse_sloppy(c):
        return StageOutput({"declared": 1, "undeclared": 2})

    monkeypatch.setattr(pipeline, "stages", lambda: (pipeline.Stage("parse_sloppy", parse_sloppy),))
    with pytest.raises(UndeclaredUnit, match="undeclared"):
        run_pipeline(project)


def test_accumulated_units_merge_every_stage_contribution():
    c = Compilation(project=None).with_units({"sources": ("a",), "snapshot_blocks": {"x": 1}})
    c = c.with_units({"sources": ("b",), "snapshot_blocks": {"y": 2}})
    assert c["sources"] == ("a", "b") and c["snapshot_blocks"] == {"x": 1, "y": 2}
    assert set(ACCUMULATED) == {"sources", "snapshot_blocks", "bundle_files", "manifest_extra"}


def test_until_must_name_a_stage(project):
    with pytest.raises(UsageError) as info:
        run_pipeline(project, until="lower_snapshto")
    assert info.value.diagnostics[0].code == "POLC022"
    assert "lower_snapshot" in info.value.diagnostics[0].hint


def test_compile_snapshot_writes_nothing(project):
    result = compile_snapshot(project)
    assert result.ok and len(result.hash) == 64
    assert not (project / "artifacts").exists()


def test_a_missing_policy_file_and_a_missing_required_doc_are_reported_in_one_run(tmp_path):
    root = make_project(tmp_path / "p", project_extra='[check]\nrequired_docs = ["docs/POLICY.md"]\n')
    (root / "model_policy.toml").unlink()
    result = run_pipeline(root)
    assert {"POLC002", "POLC012"} <= set(codes(result.diagnostics)), result.diagnostics


def test_a_wrong_type_does_not_hide_an_independent_bad_value(tmp_path):
    text = (EXAMPLE_POLICY.replace("plan = 8000", 'plan = "8000"')
            .replace("hard_limit = 25.0", "hard_limit = -3.0"))
    assert text != EXAMPLE_POLICY and '"8000"' in text and "-3.0" in text
    found = run_pipeline(make_project(tmp_path / "p", text)).diagnostics
    assert "POLC101" in codes(found) and "POLC120" in codes(found), found
    assert any("hard_limit" in d.message for d in found)


def test_an_error_reported_once_is_not_reported_again_as_its_consequence(tmp_path):
    # judge is refused by the schema; the fallback that names it must not also be "undefined".
    text = EXAMPLE_POLICY.replace('judge = ["claude-sonnet-4-20250514"]', "judge = 5")
    assert text != EXAMPLE_POLICY
    text += '\n[routing.fallback]\njudge = ["gpt-4o"]\n'
    found = run_pipeline(make_project(tmp_path / "p", text)).diagnostics
    assert "POLC101" in codes(found) and "POLC140" not in codes(found), found


def test_no_snapshot_is_made_from_a_policy_with_errors(tmp_path):
    text = EXAMPLE_POLICY.replace("hard_limit = 25.0", "hard_limit = -3.0")
    result = run_pipeline(make_project(tmp_path / "p", text))
    assert not result.ok and result.snapshot is None and not (tmp_path / "p" / "artifacts").exists()


def test_check_reads_only_its_sources_and_the_inputs_it_is_given(project):
    out = project / "artifacts" / "policy"
    out.mkdir(parents=True)
    (out / "policy.json").write_text("{damaged")
    assert codes(run_pipeline(project, until="check_weights").diagnostics) == []  # no previous build given
    found = run_pipeline(project, until="check_weights", previous_bundle="head").diagnostics
    assert codes(found) == ["POLC322"]  # named: read, refused, reported as a warning
