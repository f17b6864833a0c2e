"""A surface end to end: policy.toml names it, the snapshot carries it, the bundle holds it
normalized, and the surface_version rule compares against the previous build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.pipeline import build, check
from compiler.surface.normalize import normalize, to_yaml
from compiler.surface.yaml_front import parse_yaml
from compiler.sources import Source

from ..conftest import make_project, run_polc
from .test_front_end import EXAMPLE


def surface_project(root: Path, surface: str = EXAMPLE) -> Path:
    make_project(root)
    (root / "policy.toml").write_text('[sources]\nsurface = "policy.surface.yaml"\nmodel_policy = "model_policy.toml"\n',
                                      encoding="utf-8")
    (root / "policy.surface.yaml").write_text(surface, encoding="utf-8")
    return root


def codes(diagnostics) -> list[str]:
    return [d.code for d in diagnostics if d.severity.value != "info"]


def test_build_carries_the_normalized_surface(tmp_path):
    root = surface_project(tmp_path / "p")
    result = build(root)
    assert result.ok, result.diagnostics
    expected = normalize(parse_yaml(Source("x", None, EXAMPLE, "", 0)).data)
    assert result.snapshot["surface"] == expected
    bundle = result.bundle_dir
    assert (bundle / "policy.surface.yaml").read_bytes() == to_yaml(expected)
    manifest = json.loads((bundle / "policy.manifest.json").read_bytes())
    assert "policy.surface.yaml" in manifest["files"]
    assert "policy.surface.yaml" in result.snapshot["source_files"]


def test_surface_bytes_are_reproducible_across_processes(tmp_path):
    first = surface_project(tmp_path / "a")
    second = surface_project(tmp_path / "b")
    outs = []
    for root, seed in ((first, "1"), (second, "987")):
        result = run_polc("build", cwd=root, env={"PYTHONHASHSEED": seed, "TZ": "Asia/Kolkata", "LC_ALL": "C"})
        assert result.returncode == 0, result.stderr
        outs.append(root / "artifacts" / "policy" / result.stdout.strip())
    assert outs[0].name == outs[1].name
    assert (outs[0] / "policy.surface.yaml").read_bytes() == (outs[1] / "policy.surface.yaml").read_bytes()


def test_changing_the_surface_without_a_bump_is_a_check_error(tmp_path):
    root = surface_project(tmp_path / "p")
    assert build(root).ok
    surface = root / "policy.surface.yaml"
    surface.write_text(EXAMPLE.replace("bounds: [1, 8]", "bounds: [1, 16]"), encoding="utf-8")
    assert codes(check(root)) == []  # the API compares only with a previous build it is given
    found = check(root, previous_bundle="head")
    assert codes(found) == ["POLC320"]
    assert str(found[0].span).endswith("policy.surface.yaml:3:18")
    assert "policy_surface@v2" in found[0].hint
    from compiler.codes import exit_code_for

    assert exit_code_for(found) == 1
    # Cosmetic edits need no bump.
    surface.write_text(EXAMPLE.replace("Disable stochastic tie-breakers.", "No randomness."), encoding="utf-8")
    assert codes(check(root, previous_bundle="head")) == []


def test_a_bumped_surface_builds_and_logs_a_surface_change_delta(tmp_path):
    root = surface_project(tmp_path / "p")
    first = build(root)
    bumped = EXAMPLE.replace("policy_surface@v1", "policy_surface@v2").replace("bounds: [1, 8]", "bounds: [1, 16]")
    (root / "policy.surface.yaml").write_text(bumped, encoding="utf-8")
    second = build(root)
    assert second.ok, second.diagnostics
    out = root / "artifacts" / "policy"
    rows = [json.loads(line) for line in (out / "delta_log.jsonl").read_text().splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert row["delta"]["type"] == "surface_change"
    assert (row["policy_hash_before"], row["policy_hash_after"]) == (first.hash, second.hash)
    assert row["delta"]["payload"]["surface_version_after"] == "policy_surface@v2"
    ledger = [json.loads(line) for line in (out / "policy_hash_ledger.jsonl").read_text().splitlines()]
    assert [r["event"] for r in ledger] == ["build", "build"]
    # Going back to v1 is refused: versions only go up.
    (root / "policy.surface.yaml").write_text(EXAMPLE, encoding="utf-8")
    assert codes(check(root, previous_bundle="head")) == ["POLC321"]


def test_rebuilding_unchanged_sources_adds_no_ledger_row(tmp_path):
    root = surface_project(tmp_path / "p")
    build(root)
    build(root)
    ledger = (root / "artifacts" / "policy" / "policy_hash_ledger.jsonl").read_text().splitlines()
    assert len(ledger) == 1


def test_damaged_previous_head_warns_and_skips_the_version_rule(tmp_path):
    root = surface_project(tmp_path / "p")
    build(root)
    (root / "artifacts" / "policy" / "policy.json").write_text("{not json", encoding="utf-8")
    assert codes(check(root, previous_bundle="head")) == ["POLC322"]


def test_polc_check_names_the_build_it_compares_with(tmp_path):
    """`polc check` compares with the out dir's head by default, with --previous BUNDLE when named,
    and not at all with --previous none; it never reads the out dir otherwise."""
    from tests.conftest import run_polc

    root = surface_project(tmp_path / "p")
    first = build(root)
    (root / "policy.surface.yaml").write_text(EXAMPLE.replace("bounds: [1, 8]", "bounds: [1, 16]"),
                                             encoding="utf-8")
    assert "POLC320" in run_polc("check", cwd=root).stdout
    assert run_polc("check", "--previous", "none", cwd=root).returncode == 0
    assert "POLC320" in run_polc("check", "--previous", first.hash[:8], cwd=root).stdout
    named = run_polc("check", "--previous", "ffffffff", cwd=root)
    assert named.returncode == 2 and "POLC707" in named.stdout


@pytest.mark.parametrize("content, code, where", [
    ("x: !!python/object/apply:os.system ['true']\n", "POLC301", "policy.surface.yaml:1:4"),
    (EXAMPLE.replace("bounds: [1, 64]", "bounds: [5, 1]"), "POLC311", "policy.surface.yaml:7:13"),
])
def test_bad_surfaces_through_the_cli(tmp_path, content, code, where):
    root = surface_project(tmp_path / "p", content)
    result = run_polc("build", cwd=root)
    output = result.stdout + result.stderr
    assert result.returncode == (3 if code in ("POLC300", "POLC301") else 1), output
    assert code in output and where in output and "Traceback" not in output
    assert not (root / "artifacts" / "policy" / "policy.json").exists()


def test_missing_surface_file_names_the_policy_toml_line(tmp_path):
    root = surface_project(tmp_path / "p")
    (root / "policy.surface.yaml").unlink()
    result = run_polc("check", cwd=root)
    assert result.returncode == 3
    assert "policy.toml:2:11" in result.stdout + result.stderr
