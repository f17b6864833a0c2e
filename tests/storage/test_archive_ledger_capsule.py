"""Archives and restore, the hash ledger, the capsule (mv2://) and dual-storage parity."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from compiler.errors import InputError, IntegrityError, PolcError, UsageError
from compiler import capsule as cap
from compiler.storage.archive import archive_bundle, restore, verify_archive
from compiler.storage.deltas import DeltaRequest, apply_delta
from compiler.storage.ledger import LEDGER_FILE, verify_ledger

from ..conftest import make_project, run_polc
from .helpers import head, log_rows, seeded


def two_bundles(out):
    base = seeded(out)
    apply_delta(base.path, np.full(16, 0.1), DeltaRequest(0.1, 1, "goal"))
    return base, head(out)


def test_archive_holds_the_bundle_excerpt_and_verification_log(tmp_path):
    out = tmp_path / "out"
    base, newer = two_bundles(out)
    archive = archive_bundle(out, newer, tmp_path / "archive", day="2026-11-23")
    assert archive.name == f"2026-11-23_{newer}"
    names = sorted(p.name for p in archive.iterdir())
    assert names == ["delta_log.jsonl", "ledger_excerpt.jsonl", "policy.manifest.json", "policy.surface.yaml",
                     "policy.weights.bin", "snapshot.json", "verification.log"]
    for name in ("policy.manifest.json", "policy.weights.bin", "snapshot.json"):
        assert (archive / name).read_bytes() == (out / newer / name).read_bytes()
    excerpt = log_rows(archive / "ledger_excerpt.jsonl")
    assert [r["event"] for r in excerpt] == ["delta"] and excerpt[0]["hash"] == newer
    log = (archive / "verification.log").read_text()
    assert "sha256 policy.weights.bin" in log and "snapshot_hash snapshot.json " + newer in log
    assert verify_archive(archive).hash == newer


def test_an_existing_archive_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    base, _ = two_bundles(out)
    archive = archive_bundle(out, base.hash, tmp_path / "archive", day="2026-11-23")
    before = {p.name: p.read_bytes() for p in archive.iterdir()}
    with pytest.raises(PolcError) as info:
        archive_bundle(out, base.hash, tmp_path / "archive", day="2026-11-23")
    assert info.value.diagnostics[0].code == "POLC380"
    assert {p.name: p.read_bytes() for p in archive.iterdir()} == before


def test_restore_re_points_the_head_and_writes_a_signed_notice(tmp_path):
    out = tmp_path / "out"
    base, newer = two_bundles(out)
    archive = archive_bundle(out, base.hash, tmp_path / "archive", day="2026-11-23")
    with pytest.raises(UsageError):
        restore(archive, out, "  ")
    restored = restore(archive, out, "cycle 1 regressed abstention", "ops-owner")
    assert restored.hash == base.hash == head(out)
    notice = (out / "rollback_notice.md").read_text()
    assert "cycle 1 regressed abstention" in notice and "Signed-off-by: ops-owner" in notice
    assert f"previous head: {newer}" in notice
    restore(archive, out, "second time", "ops-owner")
    assert (out / "rollback_notice.md").read_text().startswith(notice)  # append-only
    assert [r["event"] for r in log_rows(out / LEDGER_FILE)] == ["delta", "restore", "restore"]


def test_restore_into_an_empty_out_dir(tmp_path):
    out = tmp_path / "out"
    base, _ = two_bundles(out)
    archive = archive_bundle(out, base.hash, tmp_path / "archive", day="2026-11-23")
    fresh = tmp_path / "fresh"
    restore(archive, fresh, "disaster recovery", "ops")
    assert head(fresh) == base.hash and (fresh / base.hash / "policy.weights.bin").exists()


@pytest.mark.parametrize("damage", [
    lambda a: (a / "policy.weights.bin").write_bytes((a / "policy.weights.bin").read_bytes()[:-8]),
    lambda a: (a / "snapshot.json").write_bytes((a / "snapshot.json").read_bytes().replace(b'"none"', b'"full_io"')),
    lambda a: (a / "verification.log").write_text((a / "verification.log").read_text().replace(" 128 OK", " 127 OK")),
    lambda a: (a / "policy.manifest.json").unlink(),
])
def test_restore_refuses_a_damaged_archive_and_changes_nothing(tmp_path, damage):
    out = tmp_path / "out"
    base, newer = two_bundles(out)
    archive = archive_bundle(out, base.hash, tmp_path / "archive", day="2026-11-23")
    damage(archive)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(IntegrityError) as info:
        restore(archive, out, "why", "ops")
    # damage to the bundle's own files is the bundle package's finding; a log mismatch is the archive's
    assert info.value.diagnostics[0].code in {"POLC704", "POLC702", "POLC381"}
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert head(out) == newer


def test_ledger_verify_catches_edits_and_missing_bundles(tmp_path):
    import shutil

    out = tmp_path / "out"
    base, newer = two_bundles(out)
    apply_delta(out / newer, np.full(16, 0.2), DeltaRequest(0.1, 2, "goal"))
    count, problems = verify_ledger(out)
    assert count == 2 and problems == []
    ledger = out / LEDGER_FILE
    lines = ledger.read_text().splitlines()
    ledger.write_text(lines[1] + "\n")  # the first row removed
    assert [p.code for p in verify_ledger(out)[1]] == ["POLC372"]
    ledger.write_text("\n".join(lines) + "\n")
    shutil.rmtree(out / newer)
    assert [p.code for p in verify_ledger(out)[1]] == ["POLC371"]
    ledger.write_text("{oops\n")
    with pytest.raises(InputError):
        verify_ledger(out)


def test_a_torn_last_line_is_ignored_and_repaired_on_append(tmp_path):
    from compiler.storage.jsonl import append_row, read_rows, verify_chain

    path = tmp_path / "log.jsonl"
    append_row(path, {"n": 1})
    with open(path, "ab") as fh:
        fh.write(b'{"n": 2, "prev_sha')  # a crash in the middle of an append
    assert [r["n"] for r, _ in read_rows(path, "POLC345")] == [1]
    append_row(path, {"n": 3})
    rows = read_rows(path, "POLC345")
    assert [r["n"] for r, _ in rows] == [1, 3] and verify_chain(rows) is None


# -- capsule ---------------------------------------------------------------------------------------

def test_capsule_round_trip_and_immutability(tmp_path):
    store = cap.SqliteCapsule(tmp_path / "c.sqlite")
    uri = cap.policy_uri("team", "abc")
    store.put(uri, b"{}")
    store.put(uri, b"{}")  # idempotent
    with pytest.raises(IntegrityError):
        store.put(uri, b"[]")
    assert store.get(uri) == b"{}" and store.list() == [uri] and store.get(cap.policy_uri("team", "x")) is None
    store.close()


@pytest.mark.parametrize("uri", ["mv2://", "mv2://a/policy/", "http://a/policy/b", "mv2://a/b/c", "mv2://a/policy/b/c"])
def test_malformed_uris_are_refused(uri):
    with pytest.raises(InputError) as info:
        cap.parse_uri(uri)
    assert info.value.diagnostics[0].code == "POLC363"


def test_not_a_capsule_file_is_an_input_error(tmp_path):
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError) as info:
        cap.SqliteCapsule(bogus)
    assert info.value.diagnostics[0].code == "POLC360"
    with pytest.raises(InputError):
        cap.SqliteCapsule(tmp_path / "missing.sqlite", create=False)


def capsule_project(tmp_path):
    root = make_project(tmp_path / "p", project_extra='[project]\nname = "team a"\n')
    built = run_polc("build", "--capsule", cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    return root, built.stdout.strip()


def test_build_capsule_stores_identical_bytes_and_load_reads_them(tmp_path):
    root, digest = capsule_project(tmp_path)
    out = root / "artifacts" / "policy"
    fs_bytes = (out / digest / "snapshot.json").read_bytes()
    policy_id = json.loads(fs_bytes)["policy_id"]
    uri = f"mv2://team-a/policy/{policy_id}"
    assert cap.read_snapshot_bytes(uri, out / "capsule.sqlite") == fs_bytes  # 977-A2
    parity = run_polc("verify", "--parity", cwd=root)
    assert parity.returncode == 0 and "byte-identical" in parity.stdout


def test_parity_finds_a_missing_and_an_altered_copy(tmp_path):
    root, digest = capsule_project(tmp_path)
    out = root / "artifacts" / "policy"
    apply_delta_free = run_polc("build", cwd=root)  # same content: still in parity
    assert apply_delta_free.returncode == 0
    db = sqlite3.connect(out / "capsule.sqlite")
    db.execute("UPDATE objects SET data = CAST(REPLACE(CAST(data AS TEXT), 'gpt-4o', 'gpt-4x') AS BLOB), "
               "sha256 = 'x'")
    db.commit()
    db.close()
    altered = run_polc("verify", "--parity", cwd=root)
    assert altered.returncode == 4 and "POLC361" in altered.stderr
    db = sqlite3.connect(out / "capsule.sqlite")
    db.execute("DELETE FROM objects")
    db.commit()
    db.close()
    missing = run_polc("verify", "--parity", "--format", "json", cwd=root)
    assert missing.returncode == 4 and json.loads(missing.stdout)["diagnostics"][0]["code"] == "POLC362"
    repaired = run_polc("verify", "--parity", "--repair", cwd=root)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr


def test_a_tampered_capsule_object_fails_hash_verification_on_load(tmp_path):
    root, digest = capsule_project(tmp_path)
    out = root / "artifacts" / "policy"
    uri = f"mv2://team-a/policy/{json.loads((out / digest / 'snapshot.json').read_bytes())['policy_id']}"
    forged = (out / digest / "snapshot.json").read_bytes().replace(b"gpt-4o", b"gpt-4x")
    import hashlib

    db = sqlite3.connect(out / "capsule.sqlite")
    db.execute("UPDATE objects SET data = ?, sha256 = ?", (forged, hashlib.sha256(forged).hexdigest()))
    db.commit()
    db.close()
    with pytest.raises(IntegrityError):
        cap.read_snapshot_bytes(uri, out / "capsule.sqlite")


def test_ledger_verify_cli(tmp_path):
    out = tmp_path / "out"
    two_bundles(out)
    ok = run_polc("ledger", "verify", "--out", str(out), cwd=tmp_path)
    assert ok.returncode == 0 and "1 rows" in ok.stdout
    row = json.loads((out / LEDGER_FILE).read_text())
    (out / LEDGER_FILE).write_text((out / LEDGER_FILE).read_text().replace(row["manifest_sha256"], "0" * 64))
    bad = run_polc("ledger", "verify", "--out", str(out), cwd=tmp_path)
    assert bad.returncode == 4 and "POLC371" in bad.stderr


def test_load_snapshot_accepts_an_mv2_uri(tmp_path, monkeypatch):
    from compiler.runtime import load_snapshot

    root, digest = capsule_project(tmp_path)
    out = root / "artifacts" / "policy"
    policy_id = json.loads((out / digest / "snapshot.json").read_bytes())["policy_id"]
    monkeypatch.setenv("POLC_CAPSULE", str(out / "capsule.sqlite"))
    from_capsule = load_snapshot(f"mv2://team-a/policy/{policy_id}")
    from_disk = load_snapshot(out / "policy.json")
    assert from_capsule.hash == from_disk.hash == digest
    assert from_capsule.route("architect") == from_disk.route("architect")
    with pytest.raises(InputError):
        load_snapshot("mv2://team-a/policy/00000000-0000-0000-0000-000000000000")
