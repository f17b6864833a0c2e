"""Every consumer of bundles refuses every damaged bundle the same way: same code, exit 4.

One real bundle (weights, surface and the delta row that produced it) is damaged in 30 ways;
each damaged copy is handed to ``load_snapshot``, ``polc show``, ``polc diff``, ``polc registry
publish``, ``polc archive``, ``polc restore`` (of an archive damaged the same way) and ``polc
verify``. All of them read through ``compiler.bundle``, so the expected code is one per damage.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from compiler.bundle import (DELTA_LOG_FILE, HEAD_FILE, MANIFEST_FILE, SNAPSHOT_FILE, SURFACE_FILE, WEIGHTS_FILE,
                             manifest_digest, open_bundle, point_head)
from compiler.canonical import canonical_json
from compiler.cli import main
from compiler.errors import PolcError
from compiler.runtime import load_snapshot
from compiler.storage.deltas import DeltaRequest, apply_delta

from ..storage.helpers import seeded


# --- the damage -----------------------------------------------------------------------------------

def flip(name: str) -> Callable[[Path], None]:
    def damage(bundle: Path) -> None:
        data = bytearray((bundle / name).read_bytes())
        data[len(data) // 2] ^= 0x01
        (bundle / name).write_bytes(bytes(data))
    return damage


def truncate(name: str) -> Callable[[Path], None]:
    return lambda bundle: (bundle / name).write_bytes((bundle / name).read_bytes()[:-9])


def remove(name: str) -> Callable[[Path], None]:
    return lambda bundle: (bundle / name).unlink()


def edit_manifest(change: Callable[[dict], None], *, rehash: bool) -> Callable[[Path], None]:
    """Edit the manifest; ``rehash`` recomputes its sha256 the way an attacker could."""
    def damage(bundle: Path) -> None:
        manifest = json.loads((bundle / MANIFEST_FILE).read_bytes())
        change(manifest)
        if rehash:
            manifest["sha256"] = manifest_digest(manifest)
        (bundle / MANIFEST_FILE).write_bytes(canonical_json(manifest))
    return damage


def replace_file(name: str, data: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """Replace a file and re-list it in a consistently re-hashed manifest."""
    def damage(bundle: Path) -> None:
        new = data((bundle / name).read_bytes())
        (bundle / name).write_bytes(new)
        import hashlib

        edit_manifest(lambda m: m["files"].__setitem__(name, {"sha256": hashlib.sha256(new).hexdigest(),
                                                               "byte_size": len(new)}), rehash=True)(bundle)
    return damage


def symlink_out(name: str) -> Callable[[Path], None]:
    def damage(bundle: Path) -> None:
        outside = bundle.parent.parent / f"outside-{bundle.parent.name}-{name}"
        outside.write_bytes((bundle / name).read_bytes())  # same bytes: only the link is wrong
        (bundle / name).unlink()
        os.symlink(outside, bundle / name)
    return damage


def as_directory(name: str) -> Callable[[Path], None]:
    def damage(bundle: Path) -> None:
        (bundle / name).unlink()
        (bundle / name).mkdir()
    return damage


def as_fifo(name: str) -> Callable[[Path], None]:
    def damage(bundle: Path) -> None:
        (bundle / name).unlink()
        os.mkfifo(bundle / name)
    return damage


def stray(bundle: Path) -> None:
    (bundle / "notes.txt").write_text("left behind")


def pretty_manifest(bundle: Path) -> None:
    manifest = json.loads((bundle / MANIFEST_FILE).read_bytes())
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))


def set_path(path: tuple, value) -> Callable[[dict], None]:
    def change(manifest: dict) -> None:
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def drop(key: str) -> Callable[[dict], None]:
    return lambda manifest: manifest.pop(key)


#: (id, damage, code every consumer must report)
BUNDLE_DAMAGE = [
    ("flip-snapshot", flip(SNAPSHOT_FILE), "POLC702"),
    ("flip-manifest", flip(MANIFEST_FILE), "POLC703"),
    ("flip-surface", flip(SURFACE_FILE), "POLC704"),
    ("flip-weights", flip(WEIGHTS_FILE), "POLC704"),
    ("flip-delta-row", flip(DELTA_LOG_FILE), "POLC704"),
    ("truncated-snapshot", truncate(SNAPSHOT_FILE), "POLC702"),
    ("truncated-weights", truncate(WEIGHTS_FILE), "POLC704"),
    ("manifest-without-sha256", edit_manifest(drop("sha256"), rehash=False), "POLC703"),
    ("rollout-state-edited", edit_manifest(set_path(("rollout_state",), "promoted"), rehash=False), "POLC703"),
    ("compatibility-edited", edit_manifest(set_path(("compatibility", "min_runner_version"), "0.0.1"),
                                           rehash=False), "POLC703"),
    ("unknown-rollout-state-rehashed", edit_manifest(set_path(("rollout_state",), "yolo"), rehash=True), "POLC703"),
    ("malformed-compatibility-rehashed", edit_manifest(set_path(("compatibility", "required_features"), "all"),
                                                       rehash=True), "POLC703"),
    ("policy-hash-edited-rehashed", edit_manifest(set_path(("policy", "hash"), "e" * 64), rehash=True), "POLC703"),
    ("unknown-file-listed-rehashed", edit_manifest(set_path(("files", "model.pkl"), {"sha256": "0" * 64,
                                                                                       "byte_size": 0}),
                                                   rehash=True), "POLC704"),
    ("manifest-not-canonical", pretty_manifest, "POLC703"),
    ("stray-file", stray, "POLC704"),
    ("missing-surface", remove(SURFACE_FILE), "POLC704"),
    ("missing-weights", remove(WEIGHTS_FILE), "POLC704"),
    ("missing-manifest", remove(MANIFEST_FILE), "POLC704"),
    ("swapped-weights-rehashed", replace_file(WEIGHTS_FILE, lambda b: bytes(len(b))), "POLC704"),
    ("snapshot-not-canonical-rehashed", replace_file(SNAPSHOT_FILE, lambda b: b[:-1] + b" }"), "POLC702"),
    ("delta-row-for-another-bundle-rehashed", replace_file(
        DELTA_LOG_FILE, lambda b: b.replace(b'"policy_hash_after":"', b'"policy_hash_after":"0')), "POLC704"),
    ("symlink-out-of-the-bundle", symlink_out(SURFACE_FILE), "POLC704"),
    ("snapshot-is-a-directory", as_directory(SNAPSHOT_FILE), "POLC704"),
    ("weights-is-a-fifo", as_fifo(WEIGHTS_FILE), "POLC704"),
]
#: Swapping in another bundle's snapshot (manifest re-listed) makes it another bundle under this name.
SWAPS = [("swapped-snapshot-rehashed", SNAPSHOT_FILE, "POLC705")]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> dict:
    """Two real bundles in an out dir: ``base`` (seeded) and ``bundle`` (a delta applied to it:
    weights, surface and the one delta row that produced it)."""
    root = tmp_path_factory.mktemp("pristine")
    out = root / "out"
    base = seeded(out)
    apply_delta(base.path, np.full(16, 0.5), DeltaRequest(0.1, 1, "goal"))
    head = json.loads((out / HEAD_FILE).read_bytes())["active"]
    bundle = open_bundle(out / head)
    assert {SNAPSHOT_FILE, MANIFEST_FILE, SURFACE_FILE, WEIGHTS_FILE, DELTA_LOG_FILE} <= set(bundle.files)
    return {"out": out, "base": base.hash, "bundle": bundle.hash}


def fresh_copy(pristine: dict, tmp_path: Path) -> tuple[Path, str, str]:
    out = tmp_path / "proj" / "out"
    shutil.copytree(pristine["out"], out, symlinks=True)
    (tmp_path / "proj" / "policy.toml").write_text('[sources]\nmodel_policy = "m.toml"\n[build]\nout_dir = "out"\n')
    return out, pristine["bundle"], pristine["base"]


def polc(*args: str, cwd: Path) -> tuple[int, str]:
    import contextlib
    import io

    before = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as done:
            main(list(args))
    finally:
        os.chdir(before)
    return done.value.code, out.getvalue() + err.getvalue()


def codes_in(text: str) -> set[str]:
    import re

    return set(re.findall(r"POLC\d{3}", text))


def consumers(out: Path, target: Path, good: Path, project: Path, archive: Path | None):
    """(name, run) pairs; each run returns (exit code, text) for the damaged ``target``."""
    def python_api():
        try:
            load_snapshot(target)
        except PolcError as exc:
            return int(exc.exit_code), " ".join(d.code for d in exc.diagnostics)
        return 0, ""

    from compiler.registry.canon import utc_now
    from compiler.registry.receipts import statement

    receipt = project / "receipt.json"  # a well-formed PASS receipt: only the bundle is wrong
    receipt.write_text(json.dumps(statement("reflex_promotion", "PASS", target.name if len(target.name) == 64
                                            else "0" * 64, evaluated_at=utc_now())))
    runs = [
        ("load_snapshot", python_api),
        ("polc show", lambda: polc("show", str(target), cwd=project)),
        ("polc diff", lambda: polc("diff", str(target), str(good), cwd=project)),
        ("polc registry publish", lambda: polc("registry", "publish", str(target), "--receipt", str(receipt),
                                               "--evaluation-report", "reports/eval.json",
                                               "--registry", str(project / "registry.db"), cwd=project)),
        ("polc archive", lambda: polc("archive", str(target), "--archive-dir", str(project / "arch-out"),
                                      "--out", str(out), cwd=project)),
        ("polc verify", lambda: polc("verify", "--out", str(out), cwd=project)),
    ]
    if archive is not None:
        runs.append(("polc restore", lambda: polc("restore", str(archive), "--reason", "test", "--out", str(out),
                                                  cwd=project)))
    return runs


def check_every_consumer(runs, expected: str) -> None:
    results = {}
    for name, run in runs:
        code, text = run()
        results[name] = (code, sorted(codes_in(text) & {f"POLC7{n:02d}" for n in range(20)}))
    assert all(code == 4 for code, _ in results.values()), results
    assert all(found == [expected] for _, found in results.values()), results


def make_archive(pristine: dict, tmp_path: Path, digest: str) -> Path:
    from compiler.storage.archive import archive_bundle

    return archive_bundle(pristine["out"], digest, tmp_path / "archives", day="2026-11-23")


@pytest.mark.parametrize("case_id, damage, expected", BUNDLE_DAMAGE, ids=[c[0] for c in BUNDLE_DAMAGE])
def test_every_consumer_refuses_a_damaged_bundle_alike(pristine, tmp_path, case_id, damage, expected):
    out, digest, base = fresh_copy(pristine, tmp_path)
    damage(out / digest)
    archive = make_archive(pristine, tmp_path, digest)
    damage(archive)
    project = tmp_path / "proj"
    check_every_consumer(consumers(out, out / digest, out / base, project, archive), expected)
    assert (out / HEAD_FILE).read_bytes() == (pristine["out"] / HEAD_FILE).read_bytes()  # nothing moved


@pytest.mark.parametrize("case_id, name, expected", SWAPS, ids=[c[0] for c in SWAPS])
def test_a_file_swapped_in_from_another_bundle_is_refused(pristine, tmp_path, case_id, name, expected):
    out, digest, base = fresh_copy(pristine, tmp_path)
    other = (out / base / name).read_bytes()
    replace_file(name, lambda _: other)(out / digest)
    archive = make_archive(pristine, tmp_path, digest)
    replace_file(name, lambda _: other)(archive)
    check_every_consumer(consumers(out, out / digest, out / base, tmp_path / "proj", archive), expected)


def _head_missing(out: Path, digest: str, base: str) -> None:
    shutil.rmtree(out / digest)


def _head_names_another(out: Path, digest: str, base: str) -> None:
    pointer = json.loads((out / HEAD_FILE).read_bytes())
    from compiler.bundle import policy_id_for

    pointer.update(active=base, policy_id=policy_id_for(base))  # manifest_sha256 still the other's
    (out / HEAD_FILE).write_bytes(canonical_json(pointer))


def _head_flipped(out: Path, digest: str, base: str) -> None:
    data = bytearray((out / HEAD_FILE).read_bytes())
    data[data.index(b"polc_head")] ^= 0x01  # a flip inside the pointer's own fields, not a hash it names
    (out / HEAD_FILE).write_bytes(bytes(data))


def _head_not_canonical(out: Path, digest: str, base: str) -> None:
    (out / HEAD_FILE).write_text(json.dumps(json.loads((out / HEAD_FILE).read_bytes()), indent=1))


HEAD_DAMAGE = [
    ("head-names-a-missing-bundle", _head_missing, "POLC706"),
    ("head-names-another-bundle", _head_names_another, "POLC706"),
    ("head-byte-flipped", _head_flipped, "POLC710"),
    ("head-not-canonical", _head_not_canonical, "POLC710"),
]


@pytest.mark.parametrize("case_id, damage, expected", HEAD_DAMAGE, ids=[c[0] for c in HEAD_DAMAGE])
def test_every_consumer_refuses_a_damaged_head_alike(pristine, tmp_path, case_id, damage, expected):
    out, digest, base = fresh_copy(pristine, tmp_path)
    damage(out, digest, base)
    runs = consumers(out, out / HEAD_FILE, out / base, tmp_path / "proj", archive=None)
    check_every_consumer(runs, expected)


def test_the_matrix_is_at_least_25_cases():
    assert len(BUNDLE_DAMAGE) + len(SWAPS) + len(HEAD_DAMAGE) >= 25


def test_the_pristine_bundle_passes_every_consumer(pristine, tmp_path):
    out, digest, base = fresh_copy(pristine, tmp_path)
    assert load_snapshot(out / digest).hash == digest
    project = tmp_path / "proj"
    assert polc("show", str(out / digest), cwd=project)[0] == 0
    assert polc("verify", "--out", str(out), cwd=project)[0] == 0
    assert polc("archive", str(out / digest), "--archive-dir", str(project / "a"), "--out", str(out),
                cwd=project)[0] == 0
    point_head(out, open_bundle(out / digest))
