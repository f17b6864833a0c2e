"""Emission: the bundle directory ``<out>/<hash>/`` and the head pointer ``<out>/policy.json``.

A bundle is assembled in a temporary sibling directory and renamed into place in one
step, so a reader never sees half a bundle; a complete bundle is never rewritten; the
head pointer is replaced atomically and only when it changes. Building unchanged sources
twice therefore changes nothing on disk.

Layout (DESIGN.md §3)::

    <out>/policy.json                 {"schema_version": "polc_head@v1", "active": "<hash>", ...}
    <out>/<hash>/snapshot.json        canonical JSON of the PolicySnapshot
    <out>/<hash>/policy.manifest.json policy_manifest@v2, with its own sha256
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import InputError, IntegrityError
from ..fsutil import atomic_write_bytes, publish_directory, read_regular_file
from ..pipeline import Compilation, StageOutput
from ..storage.jsonl import LOCK_FILE as STORAGE_LOCK_FILE, locked
from ..version import MANIFEST_SCHEMA_VERSION, SNAPSHOT_SCHEMA_VERSION, __version__

# File names and digests shared with the runtime, which verifies what this module writes.
from ..runtime.identity import (HEAD_FILE, HEAD_SCHEMA_VERSION, MANIFEST_FILE, SNAPSHOT_FILE,  # noqa: F401
                                manifest_digest, sha256_hex)


def build_manifest(snapshot: dict, files: dict[str, bytes], sources, project_meta: dict[str, Any]) -> dict:
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "policy": {
            "hash": snapshot["hash"],
            "policy_id": snapshot["policy_id"],
            "version": project_meta.get("version", "0.0.0"),
            "model_type": project_meta.get("model_type", "router"),
            "serialization": f"polc-snapshot@{SNAPSHOT_SCHEMA_VERSION}",
            "byte_size": len(files[SNAPSHOT_FILE]),
            "created_at": snapshot["created_at"],
        },
        "files": {name: {"sha256": sha256_hex(data), "byte_size": len(data)} for name, data in sorted(files.items())},
        "source_files": [{"path": s.rel, "sha256": s.sha256, "byte_size": s.byte_size} for s in sources],
        "compiler": {"name": "polc", "version": __version__},
        "compatibility": {
            "snapshot_schema_version": SNAPSHOT_SCHEMA_VERSION,
            "required_features": project_meta.get("required_features", []),
            "min_runner_version": __version__,
            "max_runner_version": None,
        },
        "rollout_state": "candidate",
        **project_meta.get("manifest_extra", {}),
    }
    manifest["sha256"] = manifest_digest(manifest)
    return manifest


def head_pointer(snapshot: dict, manifest: dict) -> dict:
    return {"schema_version": HEAD_SCHEMA_VERSION, "active": snapshot["hash"], "policy_id": snapshot["policy_id"],
            "manifest_sha256": manifest["sha256"]}


def emit_bundle(c: Compilation) -> StageOutput:
    from ..canonical import canonical_json

    snapshot = c["snapshot"]
    out_dir = Path(c.options["out_dir"]).resolve() if c.options.get("out_dir") else c.project.out_dir
    files = {SNAPSHOT_FILE: canonical_json(snapshot), **c.get("bundle_files", {})}
    # Earlier stages add bundle files (surface, weights) and manifest sections (training_context, ...).
    meta = {**c.project.section("project"), **c.project.section("build"),
            "manifest_extra": dict(c.get("manifest_extra", {}))}
    sources = sorted(c.get("sources", ()), key=lambda s: s.rel)
    manifest = build_manifest(snapshot, files, sources, meta)
    files[MANIFEST_FILE] = canonical_json(manifest)
    _ensure_writable(out_dir)
    # The storage lock: delta apply, restore, migrate and backfill move the head under it too.
    with locked(out_dir / STORAGE_LOCK_FILE):
        previous = _active_head(out_dir)
        bundle_dir = write_bundle(out_dir, snapshot["hash"], files)
        manifest = json.loads(_read_file(bundle_dir / MANIFEST_FILE))  # an existing bundle keeps its own
        _point_head(out_dir, canonical_json(head_pointer(snapshot, manifest)))
    return StageOutput({"bundle_dir": bundle_dir, "manifest": manifest, "previous_head": previous})


def _active_head(out_dir: Path) -> str | None:
    """The hash the head pointer names before this build moves it (None if none or unreadable)."""
    try:
        active = json.loads(_read_file(out_dir / HEAD_FILE)).get("active")
    except (OSError, ValueError, AttributeError):
        return None
    return active if isinstance(active, str) else None


def write_bundle(out_dir: Path, digest: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` as ``out_dir/digest/`` unless that complete bundle already exists."""
    bundle_dir = out_dir / digest
    _ensure_writable(out_dir)
    if bundle_dir.exists():
        _verify_existing(bundle_dir, files)
        return bundle_dir
    if not publish_directory(bundle_dir, files):  # a concurrent build won the race: it must match
        _verify_existing(bundle_dir, files)
    return bundle_dir


def _verify_existing(bundle_dir: Path, files: dict[str, bytes]) -> None:
    """An existing bundle must hold our content (only created_at may differ); it is never rewritten."""
    from .snapshot import snapshot_hash

    try:
        stored = json.loads(_read_file(bundle_dir / SNAPSHOT_FILE))
        manifest = json.loads(_read_file(bundle_dir / MANIFEST_FILE))
        same = (stored.get("hash") == bundle_dir.name == snapshot_hash(stored)
                and manifest.get("sha256") == manifest_digest(manifest))
    except (OSError, ValueError, AttributeError, TypeError):
        same = False
    if not same:
        raise IntegrityError(f"{bundle_dir} differs from the compiled snapshot", [Diagnostic.error(
            "POLC021", f"bundle `{bundle_dir}` exists but its snapshot or manifest does not match its hash",
            hint="a bundle is immutable: its content must hash to its name; it was edited or damaged. "
                 "Move it aside and build again")])


def _read_file(path: Path) -> bytes:
    """A file of the out dir: regular files only (a FIFO there must not hang the build), bounded."""
    return read_regular_file(path, MAX_OUT_FILE_BYTES)


#: The largest head pointer, manifest or snapshot a build reads back from its out dir.
MAX_OUT_FILE_BYTES = 256 * 1024 * 1024


def _ensure_writable(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        from ..fsutil import file_kind

        kind = file_kind(out_dir.stat().st_mode)
        raise InputError(f"{out_dir} is not a directory", [Diagnostic.error(
            "POLC020", f"the output directory `{out_dir}` is {kind}, not a directory",
            hint="choose another directory with --out or [build].out_dir")])
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out_dir, prefix=".polc-probe-", delete=True)
        probe.close()
    except OSError as exc:
        raise InputError(f"cannot write to {out_dir}", [Diagnostic.error(
            "POLC020", f"the output directory `{out_dir}` is not writable: {exc.strerror or exc}",
            hint="choose another directory with --out or [build].out_dir, or fix its permissions")]) from None


def _point_head(out_dir: Path, data: bytes) -> None:
    head = out_dir / HEAD_FILE
    try:
        if _read_file(head) == data:
            return
    except OSError:
        pass
    atomic_write_bytes(head, data)


def read_head(out_dir: Path) -> dict:
    with open(out_dir / HEAD_FILE, encoding="utf-8") as fh:
        return json.load(fh)
