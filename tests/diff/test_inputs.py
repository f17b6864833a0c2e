"""Every kind of diff input, read and verified; every bad input a diagnostic with the right exit code."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from compiler.diff.review import review_args
from compiler.errors import InputError, IntegrityError, UsageError

from .helpers import EXAMPLE_POLICY, commit_policy, edit, git, git_repo, snapshot_of, write_snapshot

WIDER = edit(EXAMPLE_POLICY, ('mode = "prompts_only"', 'mode = "full_io"'))


def changed_paths(report):
    return [c.dotted for c in report.changes]


def codes(exc):
    return [d.code for d in exc.value.diagnostics]


@pytest.fixture
def two_bundles(tmp_path):
    """OLD and NEW built with `polc build` into out dirs a/ and b/."""
    from compiler import build
    from tests.conftest import make_project

    for name, text in (("a", EXAMPLE_POLICY), ("b", WIDER)):
        root = make_project(tmp_path / f"src_{name}", text)
        assert build(root, out_dir=str(tmp_path / name)).ok
    return tmp_path


def test_snapshot_files(tmp_path):
    write_snapshot(tmp_path / "old.json", snapshot_of(tmp_path, EXAMPLE_POLICY, "o"))
    write_snapshot(tmp_path / "new.json", snapshot_of(tmp_path, WIDER, "n"))
    report = review_args("old.json", "new.json", cwd=tmp_path, rules=[])
    assert changed_paths(report) == ["capture.mode"]
    assert (report.old.kind, report.new.kind) == ("snapshot", "snapshot")
    assert report.changes[0].span is None  # no sources behind a snapshot file


def test_bundle_dirs_head_pointers_and_manifests(two_bundles):
    tmp = two_bundles
    head_b = json.loads((tmp / "b" / "policy.json").read_text())["active"]
    for old, new, kinds in (("a", "b", ("head", "head")),
                            ("a/policy.json", f"b/{head_b}", ("head", "bundle")),
                            ("a/policy.json", f"b/{head_b}/policy.manifest.json", ("head", "bundle")),
                            ("a/policy.json", f"b/{head_b}/snapshot.json", ("head", "snapshot"))):
        report = review_args(old, new, cwd=tmp, rules=[])
        assert changed_paths(report) == ["capture.mode"], (old, new)
        assert (report.old.kind, report.new.kind) == kinds
        assert report.new.hash == head_b


def test_source_projects_compile_on_the_fly_and_write_nothing(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "o", EXAMPLE_POLICY)
    make_project(tmp_path / "n", WIDER)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    report = review_args("o", "n/policy.toml", cwd=tmp_path, rules=[])
    assert changed_paths(report) == ["capture.mode"]
    assert str(report.changes[0].span) == "n/model_policy.toml:12:8"  # relative to the current dir
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_git_revisions_are_read_without_touching_the_working_tree(tmp_path):
    repo = git_repo(tmp_path / "repo")
    commit_policy(repo, WIDER)
    (repo / "model_policy.toml").write_text(edit(WIDER, ("plan = 8000", "plan = 9000")))
    status_before = git(repo, "status", "--porcelain")
    two = review_args("main~1", "HEAD", cwd=repo, rules=[])
    assert changed_paths(two) == ["capture.mode"]
    assert two.old.kind == "git" and len(two.old.revision) == 40
    assert changed_paths(review_args("HEAD~1", cwd=repo, rules=[])) == ["capture.mode", "budgets.tokens.plan"]
    against = review_args(None, None, against="HEAD", cwd=repo, rules=[])
    assert changed_paths(against) == ["budgets.tokens.plan"] and against.new.kind == "worktree"
    assert str(against.changes[0].span) == "model_policy.toml:16:8"
    assert changed_paths(review_args("HEAD", against="HEAD~1", cwd=repo, rules=[])) == ["capture.mode"]
    assert git(repo, "status", "--porcelain") == status_before


def test_git_project_in_a_subdirectory_keeps_repo_relative_spans(tmp_path):
    from tests.conftest import make_project

    repo = tmp_path / "repo"
    make_project(repo / "policies" / "prod", EXAMPLE_POLICY)
    (repo / "README").parent.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "policies" / "prod" / "model_policy.toml").write_text(WIDER)
    report = review_args("HEAD", cwd=repo / "policies" / "prod", rules=[])
    assert changed_paths(report) == ["capture.mode"]
    assert str(report.changes[0].span) == "model_policy.toml:12:8"


def test_git_prefix_forces_a_revision_over_a_file_of_that_name(tmp_path):
    repo = git_repo(tmp_path / "repo")
    commit_policy(repo, WIDER)
    (repo / "main").write_text("not json")
    assert changed_paths(review_args("git:main~1", "git:main", cwd=repo, rules=[])) == ["capture.mode"]


def test_unknown_revision(tmp_path):
    repo = git_repo(tmp_path / "repo")
    with pytest.raises(InputError) as exc:
        review_args("no-such-branch", cwd=repo, rules=[])
    assert codes(exc) == ["POLC410"] and "git fetch" in exc.value.diagnostics[0].hint
    with pytest.raises(InputError) as exc:
        review_args("HEAD~3", cwd=repo, rules=[])
    assert codes(exc) == ["POLC410"]


def test_revision_outside_a_git_repository(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "p", EXAMPLE_POLICY)
    env_dir = tmp_path / "p"
    with pytest.raises(InputError) as exc:
        review_args("main", cwd=env_dir, rules=[])
    assert codes(exc) == ["POLC411"] and "not inside a git repository" in exc.value.message


def test_shallow_clone_names_the_fix(tmp_path):
    repo = git_repo(tmp_path / "repo")
    commit_policy(repo, WIDER)
    commit_policy(repo, edit(WIDER, ("plan = 8000", "plan = 100")), "three")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True,
                   capture_output=True)
    with pytest.raises(InputError) as exc:
        review_args("HEAD~1", cwd=clone, rules=[])
    assert codes(exc) == ["POLC412"] and "git fetch --unshallow" in exc.value.diagnostics[0].hint


def test_revision_without_the_project(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("x")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "no policy yet")
    from tests.conftest import make_project

    make_project(repo, EXAMPLE_POLICY)
    with pytest.raises(InputError) as exc:
        review_args("HEAD", cwd=repo, rules=[])
    assert codes(exc) == ["POLC414"]


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputError) as exc:
        review_args("nope/snapshot.json", "x.json", cwd=tmp_path, rules=[])
    assert codes(exc) == ["POLC400"]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError) as exc:
        review_args("bad.json", "bad.json", cwd=tmp_path, rules=[])
    assert codes(exc) == ["POLC701"]
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(InputError) as exc:
        review_args("other.json", "other.json", cwd=tmp_path, rules=[])
    assert codes(exc) == ["POLC420"]
    if os.geteuid() != 0:  # root reads anything
        locked = write_snapshot(tmp_path / "locked.json", snapshot_of(tmp_path))
        locked.chmod(0)
        with pytest.raises(InputError) as exc:
            review_args("locked.json", "locked.json", cwd=tmp_path, rules=[])
        assert codes(exc) == ["POLC400"]


def test_tampered_snapshot_is_an_integrity_error(tmp_path, two_bundles):
    snap = snapshot_of(tmp_path)
    snap["capture"]["mode"] = "full_io"
    write_snapshot(tmp_path / "t.json", snap)
    with pytest.raises(IntegrityError) as exc:
        review_args("t.json", "t.json", cwd=tmp_path, rules=[])
    assert codes(exc) == ["POLC702"] and exc.value.exit_code == 4
    manifest = next((two_bundles / "a").glob("*/policy.manifest.json"))
    data = json.loads(manifest.read_text())
    data["policy"]["version"] = "9.9.9"
    manifest.write_text(json.dumps(data))
    with pytest.raises(IntegrityError):
        review_args("a", "b", cwd=two_bundles, rules=[])


def test_head_pointer_to_a_missing_bundle(two_bundles):
    from compiler.bundle import policy_id_for
    from compiler.canonical import canonical_json

    (two_bundles / "a" / "policy.json").write_bytes(canonical_json({
        "schema_version": "polc_head@v1", "active": "f" * 64, "policy_id": policy_id_for("f" * 64),
        "manifest_sha256": "0" * 64}))
    with pytest.raises(IntegrityError) as exc:
        review_args("a", "b", cwd=two_bundles, rules=[])
    assert codes(exc) == ["POLC706"]
    (two_bundles / "a" / "policy.json").write_text(json.dumps({"schema_version": "polc_head@v1", "active": "f" * 64}))
    with pytest.raises(IntegrityError) as exc:  # an incomplete pointer is a damaged one
        review_args("a", "b", cwd=two_bundles, rules=[])
    assert codes(exc) == ["POLC710"]


def test_new_that_does_not_compile_is_a_block_finding(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "o", EXAMPLE_POLICY)
    make_project(tmp_path / "n", edit(EXAMPLE_POLICY, ('mode = "prompts_only"', 'mode = "everything"')))
    report = review_args("o", "n", cwd=tmp_path, rules=[])
    assert report.status == "BLOCK" and report.changes == ()
    (finding,) = report.findings
    assert finding.rule_id == "POLC401" and finding.diagnostics[0].code == "POLC104"
    assert str(finding.span).startswith("n/model_policy.toml:12:")
    make_project(tmp_path / "n2", "[routing.cloud\n")  # invalid TOML: still a finding, not exit 3
    assert review_args("o", "n2", cwd=tmp_path, rules=[]).findings[0].diagnostics[0].code == "POLC006"


def test_old_that_does_not_compile_is_an_input_error(tmp_path):
    from tests.conftest import make_project

    make_project(tmp_path / "o", "[routing.cloud\n")
    make_project(tmp_path / "n", EXAMPLE_POLICY)
    with pytest.raises(InputError) as exc:
        review_args("o", "n", cwd=tmp_path, rules=[])
    assert codes(exc)[:2] == ["POLC430", "POLC006"]


def test_older_schema_is_migrated_before_comparing(tmp_path):
    from compiler.bundle import policy_id_for, snapshot_hash

    new = snapshot_of(tmp_path)
    old = {"schema_version": "0.9", "source_files": new["source_files"], "routing": {
        "cloud": new["routing"]["cloud"], "reflex": {"enabled": False, "endpoint": "http://127.0.0.1:3009/v1",
                                                     "model": "qwen2.5-coder-7b-instruct"}},
        "capture": "prompts_only", "store_embeddings": True,
        "budgets": {"tokens": new["budgets"]["tokens"], "cost_warn": 5.0, "cost_limit": 25.0},
        "gates": new["gates"]}
    old.update({k: v for k, v in new.items() if k not in old and k not in ("hash", "policy_id", "created_at")})
    old["hash"] = snapshot_hash(old)
    old["policy_id"] = policy_id_for(old["hash"])
    write_snapshot(tmp_path / "old.json", old)
    write_snapshot(tmp_path / "new.json", new)
    report = review_args("old.json", "new.json", cwd=tmp_path, rules=[])
    assert changed_paths(report) == []
    assert [n.code for n in report.notes] == ["POLC447"]


def test_newer_major_schema_is_refused(tmp_path):
    from compiler.bundle import policy_id_for, snapshot_hash

    snap = snapshot_of(tmp_path)
    snap["schema_version"] = "2.0"
    snap["hash"] = snapshot_hash(snap)
    snap["policy_id"] = policy_id_for(snap["hash"])
    write_snapshot(tmp_path / "s.json", snap)
    with pytest.raises(InputError):
        review_args("s.json", "s.json", cwd=tmp_path, rules=[])


def test_argument_combinations(tmp_path):
    with pytest.raises(UsageError):
        review_args(None, None, cwd=tmp_path, rules=[])
    with pytest.raises(UsageError):
        review_args("a", "b", against="main", cwd=tmp_path, rules=[])
