"""``polc list / show / current / schema`` on bundles written here by hand with canonical_json
(so the test does not depend on the build), plus one end-to-end run on a real ``polc build``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from compiler.canonical import canonical_json, content_hash
from compiler.cli import main
from compiler.paths import PACKAGE_ROOT, SCHEMA_DIR
from compiler.bundle import policy_id_for


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content(judge: str = "m1", plan: int = 8000) -> dict:
    return {"schema_version": "1.0", "source_files": ["model_policy.toml"],
            "routing": {"cloud": {"judge": [judge, "m2"]}},
            "capture": {"mode": "prompts_only", "store_embeddings": True},
            "budgets": {"tokens": {"plan": plan}, "cost": {"warn_threshold": 5.0, "hard_limit": 25.0}},
            "gates": {"reflex_promotion": {"p95_latency_ms": 2000}},
            "model_config": {}, "weights": {}, "prompts": {}}


def write_bundle(out: Path, body: dict, created_at: str = "2026-01-01T00:00:00Z", *, active: bool = True) -> str:
    """A bundle as the bundle package lays it out; the hash is checked here against content_hash."""
    from compiler.bundle import make_bundle, point_head, write_bundle as store

    bundle = make_bundle(body, created_at=created_at, project={"version": "2026.1"})
    assert bundle.hash == content_hash(body)  # the documented identity: canonical JSON without hash/id/time
    store(out, bundle)
    if active:
        point_head(out, bundle)
    return bundle.hash


@pytest.fixture
def polc(capsys, monkeypatch):
    monkeypatch.delenv("POLC_OUT_DIR", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        return exit_info.value.code, captured.out, captured.err
    return run


@pytest.fixture
def store(tmp_path):
    out = tmp_path / "out"
    old = write_bundle(out, content("old"), "2026-01-01T00:00:00Z", active=False)
    new = write_bundle(out, content("new"), "2026-02-01T00:00:00Z", active=True)
    (out / ".tmp-half-written").mkdir()  # never a bundle: not named by a hash
    return out, old, new


def test_list_marks_the_active_bundle_newest_first(polc, store):
    out, old, new = store
    code, stdout, _ = polc("list", "--out", str(out))
    assert code == 0
    rows = stdout.splitlines()
    assert rows[0].split() == ["HASH", "POLICY_ID", "CREATED_AT", "VERSION", "STATUS"]
    assert rows[1].split()[:4] == ["*", new[:12], policy_id_for(new), "2026-02-01T00:00:00Z"]
    assert rows[2].split()[:3] == [old[:12], policy_id_for(old), "2026-01-01T00:00:00Z"]
    assert len(rows) == 3


def test_list_json(polc, store):
    out, old, new = store
    code, stdout, _ = polc("list", "--out", str(out), "--json")
    payload = json.loads(stdout)
    assert code == 0 and payload["active"] == new
    assert [(b["hash"], b["active"], b["status"], b["version"]) for b in payload["bundles"]] == [
        (new, True, "ok", "2026.1"), (old, False, "ok", "2026.1")]


@pytest.mark.parametrize("how", ["hash_prefix", "full_hash", "policy_id_prefix", "uppercase"])
def test_show_by_prefix(polc, store, how):
    out, old, _ = store
    arg = {"hash_prefix": old[:6], "full_hash": old, "policy_id_prefix": policy_id_for(old)[:8],
           "uppercase": old[:8].upper()}[how]
    code, stdout, _ = polc("show", arg, "--out", str(out))
    assert code == 0
    assert stdout.splitlines()[0] == f"bundle      {old}"
    assert f"policy_id   {policy_id_for(old)}" in stdout
    assert "judge  old, m2" in stdout and "plan 8000" in stdout


def test_show_json_has_the_stored_snapshot_and_manifest(polc, store):
    out, _, new = store
    code, stdout, _ = polc("show", new[:8], "--out", str(out), "--json")
    payload = json.loads(stdout)
    assert code == 0
    assert payload["bundle"]["hash"] == new and payload["bundle"]["active"] and payload["bundle"]["verified"]
    assert canonical_json(payload["snapshot"]) == (out / new / "snapshot.json").read_bytes()
    assert payload["manifest"]["policy"]["hash"] == new


def test_show_by_path(polc, store):
    out, old, new = store
    for path, digest in ((out / old, old), (out / old / "snapshot.json", old), (out / "policy.json", new), (out, new)):
        code, stdout, _ = polc("show", str(path))
        assert code == 0 and stdout.startswith(f"bundle      {digest}"), path
    assert "(active)" in polc("show", str(out / "policy.json"))[1]


def test_unknown_prefix_is_a_usage_error_listing_candidates(polc, store):
    out, old, new = store
    code, _, stderr = polc("show", "ffffffff", "--out", str(out))
    assert code == 2
    assert "error[POLC707]: no bundle in" in stderr and "`ffffffff`" in stderr
    assert f"candidate: {old[:16]}" in stderr and f"candidate: {new[:16]}" in stderr


def test_too_short_prefix_is_a_usage_error(polc, store):
    out, _, new = store
    code, _, stderr = polc("show", new[:3], "--out", str(out))
    assert code == 2 and "at least 4 characters" in stderr


def test_ambiguous_prefix_is_a_usage_error_listing_the_matches(polc, tmp_path):
    out = tmp_path / "out"
    seen: dict[str, dict] = {}
    for plan in range(1, 100_000):  # two contents whose hashes share 4 hex digits (birthday: ~300 tries)
        body = content(plan=plan)
        prefix = content_hash(body)[:4]
        if prefix in seen:
            break
        seen[prefix] = body
    first, second = write_bundle(out, seen[prefix]), write_bundle(out, body)
    code, _, stderr = polc("show", prefix, "--out", str(out))
    assert code == 2
    assert f"error[POLC708]: `{prefix}` is ambiguous: it matches 2 bundles" in stderr
    assert first[:16] in stderr and second[:16] in stderr
    assert polc("show", first[:12], "--out", str(out))[0] == 0


def test_no_bundles(polc, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = polc("show", "abcd", "--out", str(empty))
    assert code == 3 and "there are no bundles" in stderr and "polc build" in stderr
    code, stdout, stderr = polc("list", "--out", str(tmp_path / "missing"))
    assert code == 0 and stdout == "" and "no bundles in" in stderr
    code, _, stderr = polc("current", "--out", str(empty))
    assert code == 3 and "there is no head pointer" in stderr


def tamper_content(out: Path, digest: str) -> None:
    """Change the snapshot's content and fix up every file hash, so only the content hash is wrong."""
    bundle = out / digest
    snapshot = json.loads((bundle / "snapshot.json").read_bytes())
    snapshot["budgets"]["tokens"]["plan"] = 1
    data = canonical_json(snapshot)
    (bundle / "snapshot.json").write_bytes(data)
    manifest = json.loads((bundle / "policy.manifest.json").read_bytes())
    manifest["files"]["snapshot.json"] = {"sha256": sha(data), "byte_size": len(data)}
    manifest.pop("sha256")
    manifest["sha256"] = sha(canonical_json(manifest))
    (bundle / "policy.manifest.json").write_bytes(canonical_json(manifest))
    head = json.loads((out / "policy.json").read_bytes())
    if head["active"] == digest:
        head["manifest_sha256"] = manifest["sha256"]
        (out / "policy.json").write_bytes(canonical_json(head))


def test_a_snapshot_whose_hash_does_not_match_its_content_exits_4(polc, store):
    out, old, new = store
    tamper_content(out, new)
    for args in (("show", new[:8]), ("current",)):
        code, stdout, stderr = polc(*args, "--out", str(out))
        assert code == 4 and stdout == ""
        assert "content hash" in stderr and "mismatch" in stderr
    code, stdout, stderr = polc("list", "--out", str(out))
    assert code == 4
    assert "INTEGRITY FAILURE" in stdout and old[:12] in stdout
    code, stdout, _ = polc("list", "--out", str(out), "--json")
    statuses = {b["hash"]: b["status"] for b in json.loads(stdout)["bundles"]}
    assert code == 4 and statuses == {new: "integrity", old: "ok"}


def test_a_file_edited_after_build_exits_4(polc, store):
    out, old, _ = store
    path = out / old / "snapshot.json"
    path.write_bytes(path.read_bytes().replace(b'"plan":8000', b'"plan":8001'))
    code, _, stderr = polc("show", old[:8], "--out", str(out))
    assert code == 4 and str(path) in stderr


def test_unreadable_bundle_exits_3_in_list(polc, store):
    out, old, _ = store
    (out / old / "snapshot.json").unlink()
    code, stdout, stderr = polc("list", "--out", str(out))
    assert code in (3, 4)  # a missing listed file: unreadable (3) or, as the runtime sees it, tampered (4)
    assert "below" in stdout and old[:12] in stdout and stderr


def test_current_shows_the_head_pointer_bundle(polc, store):
    out, _, new = store
    code, stdout, _ = polc("current", "--out", str(out))
    assert code == 0 and stdout.splitlines()[0] == f"bundle      {new}  (active)"
    code, stdout, _ = polc("current", "--out", str(out), "--json")
    assert json.loads(stdout)["bundle"]["hash"] == new


def test_head_pointer_naming_a_missing_bundle(polc, tmp_path):
    out = tmp_path / "out"
    gone = write_bundle(out, content())
    for file in (out / gone).iterdir():
        file.unlink()
    (out / gone).rmdir()
    code, _, stderr = polc("current", "--out", str(out))
    assert code == 4 and gone in stderr and "POLC706" in stderr


def test_out_dir_comes_from_policy_toml(polc, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "policy.toml").write_text('[sources]\nmodel_policy = "model_policy.toml"\n\n'
                                         '[build]\nout_dir = "bundles"\n')
    digest = write_bundle(project / "bundles", content())
    monkeypatch.chdir(project / "sub")
    code, stdout, _ = polc("list")
    assert code == 0 and digest[:12] in stdout
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = polc("current", "--project", str(project))
    assert code == 0 and digest in stdout


def test_no_project_and_no_out_is_exit_3(polc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = polc("list")
    assert code == 3 and "no policy.toml found" in stderr


# --- schema --------------------------------------------------------------------------------------

def test_schema_lists_every_schema(polc):
    code, stdout, _ = polc("schema")
    names = [line.split()[0] for line in stdout.splitlines()]
    assert code == 0
    assert names == sorted(p.name[: -len(".schema.json")] for p in SCHEMA_DIR.glob("*.schema.json"))
    assert "diagnostics" in names and "model_policy" in names
    code, stdout, _ = polc("schema", "--json")
    assert {"name": "diagnostics", "file": "schemas/diagnostics.schema.json"}.items() <= json.loads(stdout)[0].items()


@pytest.mark.parametrize("name", ["model_policy", "model_policy.schema.json", "model_policy.schema"])
def test_schema_prints_one(polc, name):
    code, stdout, _ = polc("schema", name)
    assert code == 0 and stdout == (SCHEMA_DIR / "model_policy.schema.json").read_text(encoding="utf-8")
    json.loads(stdout)


def test_unknown_schema_is_a_usage_error_with_a_suggestion(polc):
    code, _, stderr = polc("schema", "model_polcy")
    assert code == 2 and "did you mean `model_policy`" in stderr


# --- the real build ------------------------------------------------------------------------------

def test_inspecting_a_real_build(polc, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    project = tmp_path / "project"
    project.mkdir()
    # Spec 001's example policy, as the repository keeps it.
    (project / "model_policy.toml").write_bytes((PACKAGE_ROOT / "examples" / "model_policy.toml").read_bytes())
    (project / "policy.toml").write_text('[sources]\nmodel_policy = "model_policy.toml"\n')
    out = tmp_path / "artifacts"
    code, stdout, stderr = polc("build", str(project), "--out", str(out))
    assert code == 0, stderr
    digest = stdout.strip().splitlines()[-1]
    code, stdout, _ = polc("list", "--out", str(out), "--json")
    (bundle,) = json.loads(stdout)["bundles"]
    assert code == 0 and bundle["hash"] == digest and bundle["active"] and bundle["status"] == "ok"
    code, stdout, _ = polc("show", digest[:10], "--out", str(out), "--json")
    snapshot = json.loads(stdout)["snapshot"]
    assert code == 0 and snapshot["hash"] == digest
    assert content_hash({k: v for k, v in snapshot.items() if k not in ("hash", "policy_id", "created_at")}) == digest
    code, stdout, _ = polc("current", "--out", str(out))
    assert code == 0 and stdout.startswith(f"bundle      {digest}  (active)")
