"""load_snapshot: every entry shape, pins, and refusal of anything tampered with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compiler.errors import InputError, IntegrityError, UsageError
from compiler.runtime import Snapshot, load_snapshot
from compiler.bundle import policy_id_for
from tests.runtime.conftest import build_project


def active(out_dir: Path) -> str:
    return json.loads((out_dir / "policy.json").read_text())["active"]


def test_every_entry_shape_loads_the_same_snapshot(out_dir):
    digest = active(out_dir)
    targets = [out_dir / "policy.json", out_dir, out_dir / digest, out_dir / digest / "snapshot.json"]
    snaps = [load_snapshot(t) for t in targets]
    assert {s.hash for s in snaps} == {digest}
    assert all(isinstance(s, Snapshot) and s.policy_id == policy_id_for(digest) for s in snaps)
    assert snaps[0].source == out_dir / "policy.json"


def test_pin_by_full_hash_prefix_and_policy_id(out_dir):
    digest = active(out_dir)
    for pin in (digest, digest[:8], digest[:4], policy_id_for(digest), digest[:10].upper()):
        snap = load_snapshot(pin, root=out_dir)
        assert snap.hash == digest and snap.pinned == pin


def test_pin_resolves_under_a_project_dir(out_dir):
    project = out_dir.parent.parent  # proj/artifacts/policy
    assert load_snapshot(active(out_dir)[:6], root=project).hash == active(out_dir)


def test_pinning_selects_and_never_writes(out_dir):
    before = {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    load_snapshot(active(out_dir)[:6], root=out_dir)
    assert {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()} == before


def test_ambiguous_prefix_lists_the_matches(out_dir):
    digest = active(out_dir)
    twin = digest[:6] + "f" * 58 if digest[6] != "f" else digest[:6] + "e" * 58
    shutil.copytree(out_dir / digest, out_dir / twin)
    with pytest.raises(UsageError, match="ambiguous") as info:
        load_snapshot(digest[:6], root=out_dir)
    assert info.value.diagnostics[0].code == "POLC708"
    assert load_snapshot(digest[:8], root=out_dir).hash == digest  # more digits resolve it


def test_dangling_pin_and_short_prefix(out_dir):
    with pytest.raises(UsageError, match="no bundle") as info:  # an unknown id given by the caller: usage
        load_snapshot("abcdef12", root=out_dir)
    assert info.value.diagnostics[0].code == "POLC707"
    with pytest.raises(UsageError, match="at least 4"):
        load_snapshot(active(out_dir)[:3], root=out_dir)


def test_head_pointer_naming_a_missing_bundle(out_dir):
    shutil.rmtree(out_dir / active(out_dir))
    with pytest.raises(IntegrityError, match="not in") as info:  # the stored pointer no longer holds
        load_snapshot(out_dir / "policy.json")
    assert info.value.diagnostics[0].code == "POLC706"


def test_missing_path_and_empty_dir(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_snapshot(tmp_path / "nope.json")
    with pytest.raises(InputError, match="holds no snapshot.json"):
        load_snapshot(tmp_path)


def _flip(path: Path, index: int) -> bytes:
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[index] = (damaged[index] + 1) % 256
    path.write_bytes(bytes(damaged))
    return original


@pytest.mark.parametrize("name", ["snapshot.json", "policy.manifest.json", "policy.json"])
def test_every_single_byte_change_is_refused(small_out_dir, name):
    out = small_out_dir
    path = out / "policy.json" if name == "policy.json" else out / active(out) / name
    size = len(path.read_bytes())
    for index in range(size):
        original = _flip(path, index)
        try:
            with pytest.raises((IntegrityError, InputError)) as info:
                load_snapshot(out / "policy.json")
            assert info.type is IntegrityError or info.value.diagnostics[0].code == "POLC706", (index, info.value)
        finally:
            path.write_bytes(original)
    assert load_snapshot(out / "policy.json").hash == active(out)


def test_tampered_snapshot_names_file_expected_and_actual(out_dir):
    bundle = out_dir / active(out_dir)
    text = (bundle / "snapshot.json").read_text().replace('"full_io"', '"none"').replace(
        '"prompts_only"', '"full_io"')
    (bundle / "snapshot.json").write_text(text)
    with pytest.raises(IntegrityError) as info:
        load_snapshot(bundle)
    message = str(info.value)
    assert "snapshot.json" in message and "expected" in message and "found" in message


def test_edited_snapshot_with_recomputed_manifest_is_still_refused(out_dir):
    """An attacker who fixes the manifest's file hash and self-hash still fails the content hash."""
    from compiler.canonical import canonical_json
    from compiler.bundle import manifest_digest, sha256_hex

    bundle = out_dir / active(out_dir)
    snap = json.loads((bundle / "snapshot.json").read_bytes())
    snap["capture"]["mode"] = "full_io"
    raw = canonical_json(snap)
    (bundle / "snapshot.json").write_bytes(raw)
    manifest = json.loads((bundle / "policy.manifest.json").read_bytes())
    manifest["files"]["snapshot.json"] = {"sha256": sha256_hex(raw), "byte_size": len(raw)}
    manifest["sha256"] = manifest_digest(manifest)
    (bundle / "policy.manifest.json").write_bytes(canonical_json(manifest))
    with pytest.raises(IntegrityError, match="content hash") as info:
        load_snapshot(bundle)
    assert info.value.diagnostics[0].code == "POLC702"


def test_swapped_bundle_dir_name_is_refused(tmp_path):
    out_a = build_project(tmp_path / "a")
    out_b = build_project(tmp_path / "b", (Path(__file__).parent / "conftest.py").read_text().split(
        'RICH_POLICY = """\\\n')[1].split('"""')[0].replace("hard_limit = 25.0", "hard_limit = 30.0"))
    a, b = active(out_a), active(out_b)
    assert a != b
    shutil.move(str(out_b / b), str(out_a / b))
    (out_a / a).rename(out_a / "tmp")
    (out_a / b).rename(out_a / a)  # bundle b now sits under a's name
    with pytest.raises(IntegrityError, match="should be bundle|policy.hash|manifest_sha256"):
        load_snapshot(out_a / "policy.json")
    with pytest.raises(IntegrityError, match="should be bundle"):
        load_snapshot(out_a / a)


def test_unlisted_file_in_bundle_and_missing_manifest(out_dir):
    bundle = out_dir / active(out_dir)
    (bundle / "extra.bin").write_bytes(b"x")
    with pytest.raises(IntegrityError, match="not in its manifest"):
        load_snapshot(bundle)
    (bundle / "extra.bin").unlink()
    (bundle / "policy.manifest.json").unlink()
    with pytest.raises(IntegrityError, match="no policy.manifest.json"):
        load_snapshot(bundle)


def test_truncated_and_invalid_json(out_dir, tmp_path):
    bundle = out_dir / active(out_dir)
    raw = (bundle / "snapshot.json").read_bytes()
    (bundle / "snapshot.json").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IntegrityError):
        load_snapshot(bundle)
    loose = tmp_path / "loose.json"
    loose.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="not valid JSON"):
        load_snapshot(loose)
    loose.write_bytes(b"[1, 2]")
    with pytest.raises(InputError, match="JSON array"):
        load_snapshot(loose)


def test_bare_snapshot_file_must_be_canonical(out_dir, tmp_path):
    data = json.loads((out_dir / active(out_dir) / "snapshot.json").read_bytes())
    loose = tmp_path / "loose.json"
    loose.write_text(json.dumps(data, indent=2))  # same content, not polc's bytes
    with pytest.raises(IntegrityError, match="canonical"):
        load_snapshot(loose)


def test_duplicate_keys_are_refused(tmp_path, out_dir):
    raw = (out_dir / active(out_dir) / "snapshot.json").read_bytes()
    loose = tmp_path / "dup.json"
    loose.write_bytes(raw[:1] + b'"capture":{"mode":"full_io","store_embeddings":true},' + raw[1:])
    with pytest.raises(IntegrityError, match="canonical"):
        load_snapshot(loose)


def test_snapshot_is_immutable(out_dir):
    snap = load_snapshot(out_dir)
    with pytest.raises(AttributeError):
        snap.data = {}
    with pytest.raises(TypeError):
        snap.data["routing"]["cloud"]["judge"] = ["evil"]
    assert isinstance(snap.data["routing"]["cloud"]["judge"], tuple)
    plain = snap.to_dict()
    plain["routing"]["cloud"]["judge"].append("x")
    assert snap.route("judge")[-1].model != "x"


def test_rollout_state_and_manifest_are_exposed_frozen(out_dir, tmp_path):
    snap = load_snapshot(out_dir)
    assert snap.rollout_state == "candidate"
    assert snap.manifest["policy"]["hash"] == snap.hash
    with pytest.raises(TypeError):
        snap.manifest["rollout_state"] = "promoted"
    bare = tmp_path / "bare.json"
    bare.write_bytes((snap.bundle_dir / "snapshot.json").read_bytes())
    assert load_snapshot(bare).rollout_state == "candidate"  # no manifest: the conservative default


def test_a_target_that_is_not_a_path_is_a_usage_error():
    with pytest.raises(UsageError, match="got a int"):
        load_snapshot(42)
