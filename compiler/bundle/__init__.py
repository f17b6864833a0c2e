"""The bundle contract: the one package that reads and writes compiled policy bundles.

Everything after the compiler's ``emit`` stage — runtime, diff, storage, registry, server,
OCI — consumes bundles through this package only, so every consumer accepts and refuses
exactly the same bundles with the same codes (docs/architecture.md, "The bundle contract").
It imports the standard library and polc's own leaf modules (canonical JSON, diagnostics,
atomic writes) only, because routers import it.

Reading::

    bundle = open_bundle("artifacts/policy/<hash>")    # verified Bundle, or IntegrityError (exit 4)
    bundle = open_head("artifacts/policy")             # the active bundle, pointer cross-checked
    bundle = open_ref("ab12", out_dir)                 # a path, head pointer or id (prefix, policy_id)
    bundle = verify_bundle_files({name: bytes, ...})   # bytes from anywhere (HTTP, OCI): same checks

Writing (``write_bundle`` verifies before it writes; nothing half-written is ever visible)::

    bundle = make_bundle(snapshot, {WEIGHTS_FILE: data}, created_at=..., project=...)
    with storage_lock(out_dir):
        write_bundle(out_dir, bundle)
        point_head(out_dir, bundle)
"""

from .disk import bundle_dirs, ensure_writable, find_bundle, open_bundle, open_ref, storage_lock, write_bundle
from .errors import REBUILD
from .head import bundle_of, head_bytes, head_path, open_head, point_head, read_head
from .identity import (POLICY_ID_NAMESPACE, UNHASHED_FIELDS, is_full_hash, manifest_digest, policy_id_for,
                       sha256_hex, snapshot_hash)
from .layout import (BUNDLE_FILES, DELTA_LOG_FILE, HEAD_FILE, HEAD_SCHEMA_VERSION, LEGACY_MANIFEST_SCHEMA_VERSION,
                     LOCK_FILE, MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, ROLLOUT_STATES, SNAPSHOT_FILE, SURFACE_FILE,
                     WEIGHTS_FILE)
from .make import derive_bundle, make_bundle, make_manifest, seal_snapshot
from .model import Bundle, Head
from .verify import verify_bundle_files, verify_snapshot_bytes

__all__ = [
    "BUNDLE_FILES", "Bundle", "DELTA_LOG_FILE", "HEAD_FILE", "HEAD_SCHEMA_VERSION", "Head",
    "LEGACY_MANIFEST_SCHEMA_VERSION", "LOCK_FILE", "MANIFEST_FILE", "MANIFEST_SCHEMA_VERSION", "POLICY_ID_NAMESPACE",
    "REBUILD", "ROLLOUT_STATES", "SNAPSHOT_FILE", "SURFACE_FILE", "UNHASHED_FIELDS", "WEIGHTS_FILE", "bundle_dirs",
    "bundle_of", "derive_bundle", "ensure_writable", "find_bundle", "head_bytes", "head_path", "is_full_hash",
    "make_bundle", "make_manifest", "manifest_digest", "open_bundle", "open_head", "open_ref", "point_head",
    "policy_id_for", "read_head", "seal_snapshot", "sha256_hex", "snapshot_hash", "storage_lock",
    "verify_bundle_files", "verify_snapshot_bytes", "write_bundle",
]
