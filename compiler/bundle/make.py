"""Making bundles: seal a snapshot's identity, write its manifest, derive a bundle from another.

The compiler's ``emit`` stage, ``delta apply``, ``migrate`` and ``restore`` all make their
bundles here, so every bundle has the same manifest shape and derived files, and each is
verified by ``verify_bundle_files`` before it is handed back.

>>> b = make_bundle({"schema_version": "1.0", "routing": {}}, created_at="2026-01-01T00:00:00Z",
...                 project={"name": "router", "version": "1.2.0"})
>>> b.policy_name, b.version, b.rollout_state, sorted(b.files)
('router', '1.2.0', 'candidate', ['policy.manifest.json', 'snapshot.json'])
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..canonical import canonical_json
from ..version import SNAPSHOT_SCHEMA_VERSION, __version__
from .identity import UNHASHED_FIELDS, manifest_digest, policy_id_for, sha256_hex, snapshot_hash
from .layout import DELTA_LOG_FILE, MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, SNAPSHOT_FILE, SURFACE_FILE
from .model import Bundle
from .verify import verify_bundle_files


def seal_snapshot(content: Mapping[str, Any], created_at: str) -> dict:
    """``content`` with its identity: ``hash`` (of the content alone), ``policy_id``, ``created_at``."""
    content = {k: v for k, v in content.items() if k not in UNHASHED_FIELDS}
    digest = snapshot_hash(content)
    return {**content, "hash": digest, "policy_id": policy_id_for(digest), "created_at": created_at}


def make_bundle(snapshot: Mapping[str, Any], files: Mapping[str, bytes] | None = None, *,
                created_at: str | None = None, sources: Iterable = (), project: Mapping[str, Any] | None = None,
                manifest_extra: Mapping[str, Any] | None = None) -> Bundle:
    """A new verified bundle of ``snapshot`` (sealed here when it has no ``hash`` yet).

    ``files`` are the extra files (``policy.weights.bin``, ``delta_log.jsonl``); the surface file
    is written from the snapshot's (typed, not yet canonical) ``surface`` block. ``sources`` are the compiled ``Source`` records, ``project``
    the ``[project]``/``[build]`` settings (name, version, model_type, required_features,
    feature_groups, min/max_runner_version), ``manifest_extra`` extra manifest sections.
    """
    if "hash" not in snapshot:
        if created_at is None:
            raise ValueError("make_bundle: an unsealed snapshot needs created_at")
        snapshot = seal_snapshot(snapshot, created_at)
    out = {SNAPSHOT_FILE: canonical_json(snapshot), **_derived_files(snapshot), **(files or {})}
    manifest = make_manifest(snapshot, out, sources, project or {}, manifest_extra or {})
    out[MANIFEST_FILE] = canonical_json(manifest)
    return verify_bundle_files(out, where=snapshot["hash"])


def make_manifest(snapshot: Mapping[str, Any], files: Mapping[str, bytes], sources: Iterable,
                  project: Mapping[str, Any], extra: Mapping[str, Any]) -> dict:
    """The ``policy_manifest@v2`` of a bundle holding ``files`` (without the manifest itself)."""
    policy = {
        "hash": snapshot["hash"],
        "policy_id": snapshot["policy_id"],
        "version": project.get("version", "0.0.0"),
        "model_type": project.get("model_type", "router"),
        "serialization": f"polc-snapshot@{SNAPSHOT_SCHEMA_VERSION}",
        "byte_size": len(files[SNAPSHOT_FILE]),
        "created_at": snapshot.get("created_at"),
    }
    if project.get("name"):
        policy["name"] = project["name"]
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "policy": policy,
        "files": _listing(files),
        "source_files": [{"path": s.rel, "sha256": s.sha256, "byte_size": s.byte_size}
                         for s in sorted(sources, key=lambda s: s.rel)],
        "compiler": {"name": "polc", "version": __version__},
        "compatibility": {
            "snapshot_schema_version": SNAPSHOT_SCHEMA_VERSION,
            "required_features": sorted(project.get("required_features", [])),
            "min_runner_version": project.get("min_runner_version", __version__),
            "max_runner_version": project.get("max_runner_version"),
            **({"feature_groups": dict(project["feature_groups"])} if project.get("feature_groups") else {}),
        },
        "rollout_state": "candidate",
        **extra,
    }
    manifest["sha256"] = manifest_digest(manifest)
    return manifest


def derive_bundle(base: Bundle, blocks: Mapping[str, Any], files: Mapping[str, bytes], created_at: str,
                  manifest_extra: Mapping[str, Any] | None = None) -> Bundle:
    """A new bundle like ``base`` with snapshot ``blocks`` and ``files`` replaced (a delta, a
    migration): new identity, the base's manifest sections kept, ``rollout_state`` candidate."""
    content = {k: v for k, v in base.snapshot.items() if k not in UNHASHED_FIELDS}
    content.update(blocks)
    snapshot = seal_snapshot(content, created_at)
    out = {name: data for name, data in base.files.items() if name not in (MANIFEST_FILE, DELTA_LOG_FILE)}
    out[SNAPSHOT_FILE] = canonical_json(snapshot)
    if "surface" in blocks:  # an unchanged surface keeps its file: its YAML came from the typed surface
        out.pop(SURFACE_FILE, None)
        out.update(_derived_files(snapshot))
    out.update(files)
    manifest = {k: v for k, v in base.manifest.items() if k != "sha256"}
    manifest["policy"] = {**manifest["policy"], "hash": snapshot["hash"], "policy_id": snapshot["policy_id"],
                          "byte_size": len(out[SNAPSHOT_FILE]), "created_at": created_at}
    manifest["files"] = _listing(out)
    manifest["rollout_state"] = "candidate"
    manifest.update(manifest_extra or {})
    manifest["sha256"] = manifest_digest(manifest)
    out[MANIFEST_FILE] = canonical_json(manifest)
    return verify_bundle_files(out, where=snapshot["hash"])


def _derived_files(snapshot: Mapping[str, Any]) -> dict[str, bytes]:
    if snapshot.get("surface") is None:
        return {}
    from .surface_yaml import to_yaml

    return {SURFACE_FILE: to_yaml(snapshot["surface"])}


def _listing(files: Mapping[str, bytes]) -> dict:
    return {name: {"sha256": sha256_hex(data), "byte_size": len(data)}
            for name, data in sorted(files.items()) if name != MANIFEST_FILE}
