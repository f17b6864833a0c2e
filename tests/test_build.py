"""polc build: reproducible, content-addressed, atomic, idempotent."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from compiler import build
from compiler.canonical import canonical_json, content_hash
from compiler.bundle import manifest_digest
from compiler.bundle import POLICY_ID_NAMESPACE, UNHASHED_FIELDS

from .conftest import EXAMPLE_POLICY, REPO, make_project, run_polc

EPOCH = {"SOURCE_DATE_EPOCH": "1767225600"}  # 2026-01-01T00:00:00Z


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_prints_hash_and_writes_the_bundle(project):
    result = run_polc("build", cwd=project, env=EPOCH)
    assert result.returncode == 0, result.stderr
    digest = result.stdout.strip()
    bundle = project / "artifacts" / "policy" / digest
    snapshot = json.loads((bundle / "snapshot.json").read_bytes())
    manifest = json.loads((bundle / "policy.manifest.json").read_bytes())
    head = json.loads((project / "artifacts" / "policy" / "policy.json").read_bytes())
    assert head["active"] == digest == snapshot["hash"] == manifest["policy"]["hash"]
    assert (bundle / "snapshot.json").read_bytes() == canonical_json(snapshot)
    assert snapshot["hash"] == content_hash({k: v for k, v in snapshot.items() if k not in UNHASHED_FIELDS})
    assert snapshot["policy_id"] == str(uuid.uuid5(POLICY_ID_NAMESPACE, digest))
    assert snapshot["created_at"] == "2026-01-01T00:00:00Z"
    assert manifest["schema_version"] == "policy_manifest@v2"
    assert manifest["sha256"] == manifest_digest(manifest)
    snap_bytes = (bundle / "snapshot.json").read_bytes()
    assert manifest["files"]["snapshot.json"]["byte_size"] == len(snap_bytes)
    assert manifest["source_files"][0]["path"] == "model_policy.toml"


def test_spec_example_content_reaches_the_snapshot(project):
    result = build(project)
    assert result.ok, result.diagnostics
    snap = result.snapshot
    assert snap["routing"]["cloud"]["architect"] == ["claude-sonnet-4-20250514", "gpt-4o"]
    assert snap["routing"]["reflex"]["endpoint"] == "http://127.0.0.1:3009/v1"
    assert snap["capture"] == {"mode": "prompts_only", "store_embeddings": True}
    assert snap["budgets"]["tokens"] == {"plan": 8000, "tasks": 4000, "implement": 6000}
    assert snap["budgets"]["cost"]["hard_limit"] == 25.0
    assert snap["gates"]["local_memory_sunset"] == {"retrieval_p95_parity": True, "stability_days": 30}
    for key in ("schema_version", "policy_id", "hash", "created_at", "source_files", "model_config", "weights",
                "prompts"):
        assert key in snap


def test_same_inputs_same_hash_977_A1(project):
    first = build(project).hash
    second = build(project).hash
    assert first == second


def test_different_source_files_different_hash_977_A1(tmp_path):
    a = make_project(tmp_path / "a")
    b = make_project(tmp_path / "b", model_policy_name="policy/model_policy.toml")
    assert build(a).hash != build(b).hash


def test_formatting_and_comments_do_not_change_the_hash(tmp_path):
    a = make_project(tmp_path / "a")
    b = make_project(tmp_path / "b", "# a comment\n" + EXAMPLE_POLICY.replace(" = ", "   =   "))
    assert build(a).hash == build(b).hash


def test_content_change_changes_the_hash(tmp_path):
    a = make_project(tmp_path / "a")
    b = make_project(tmp_path / "b", EXAMPLE_POLICY.replace("plan = 8000", "plan = 8001"))
    assert build(a).hash != build(b).hash


def test_reproducible_across_directories_environments_and_processes(tmp_path):
    """Same sources in two directories, different TZ, LANG, PYTHONHASHSEED, HOME/USER: same bytes."""
    envs = [
        {**EPOCH, "TZ": "UTC", "LANG": "C", "PYTHONHASHSEED": "0", "USER": "alice"},
        {**EPOCH, "TZ": "Asia/Kolkata", "LANG": "de_DE.UTF-8", "LC_ALL": "tr_TR.UTF-8", "PYTHONHASHSEED": "4242",
         "USER": "bob", "HOME": str(tmp_path)},
    ]
    outputs = []
    for i, env in enumerate(envs):
        root = make_project(tmp_path / f"dir{i}" / ("deeper" * i))
        result = run_polc("build", cwd=root, env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(tree_bytes(root / "artifacts" / "policy"))
    assert outputs[0] == outputs[1]


def test_without_source_date_epoch_only_created_at_differs(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a = build(make_project(tmp_path / "a"), out_dir=tmp_path / "out_a").snapshot
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    b = build(make_project(tmp_path / "b"), out_dir=tmp_path / "out_b").snapshot
    assert a["hash"] == b["hash"] and a["policy_id"] == b["policy_id"]
    assert b["created_at"] == "1970-01-01T00:00:00Z"


def test_building_twice_changes_nothing_on_disk(project):
    assert run_polc("build", cwd=project).returncode == 0
    out = project / "artifacts" / "policy"
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    assert run_polc("build", cwd=project, env={"SOURCE_DATE_EPOCH": "999"}).returncode == 0
    after = {p: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    assert before == after


def test_head_pointer_moves_and_old_bundles_stay(project):
    first = build(project).hash
    (project / "model_policy.toml").write_text(EXAMPLE_POLICY.replace("tasks = 4000", "tasks = 4100"))
    second = build(project).hash
    out = project / "artifacts" / "policy"
    assert first != second
    assert (out / first / "snapshot.json").is_file() and (out / second / "snapshot.json").is_file()
    assert json.loads((out / "policy.json").read_bytes())["active"] == second


def test_tampered_existing_bundle_is_never_overwritten(project):
    digest = build(project).hash
    snap = project / "artifacts" / "policy" / digest / "snapshot.json"
    snap.write_bytes(snap.read_bytes().replace(b'"plan":8000', b'"plan":9000'))
    result = run_polc("build", cwd=project)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "POLC702" in result.stdout + result.stderr  # the bundle package's code, as every reader reports it
    assert b'"plan":9000' in snap.read_bytes()  # evidence kept, not silently repaired


def test_out_flag_overrides_project_out_dir(project, tmp_path):
    result = run_polc("build", "--out", str(tmp_path / "elsewhere"), cwd=project)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / result.stdout.strip() / "snapshot.json").is_file()


def test_polc_finds_policy_toml_from_a_subdirectory(project):
    (project / "a" / "b").mkdir(parents=True)
    result = run_polc("check", cwd=project / "a" / "b")
    assert result.returncode == 0, result.stdout + result.stderr


def test_repository_example_builds(tmp_path):
    work = tmp_path / "repo"
    shutil.copytree(REPO / "examples", work / "examples")
    shutil.copy(REPO / "policy.toml", work / "policy.toml")
    result = run_polc("build", cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(result.stdout.strip()) == 64


def test_damaged_manifest_of_existing_bundle_is_an_integrity_failure(project):
    digest = build(project).hash
    manifest = project / "artifacts" / "policy" / digest / "policy.manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"router"', b'"actor"'))
    result = run_polc("build", cwd=project)
    assert result.returncode == 4 and "POLC703" in result.stdout


def test_snapshot_and_manifest_validate_against_their_schemas(project):
    import jsonschema

    from compiler.frontend.schema_check import load_schema

    digest = build(project).hash
    bundle = project / "artifacts" / "policy" / digest
    jsonschema.validate(json.loads((bundle / "snapshot.json").read_bytes()), load_schema("policy_snapshot.schema.json"))
    jsonschema.validate(json.loads((bundle / "policy.manifest.json").read_bytes()),
                        load_schema("policy_manifest.schema.json"))
