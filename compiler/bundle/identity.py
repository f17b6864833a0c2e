"""Content identity of snapshots and manifests, with nothing heavier than the standard library.

Everything that names a bundle (the compiler, the runtime, the registry, OCI) must agree byte
for byte on how a snapshot is hashed, so all use these functions (docs/canonical-json.md).

>>> snap = {"schema_version": "1.0", "routing": {}, "hash": "x", "policy_id": "y", "created_at": "z"}
>>> snapshot_hash(snap) == snapshot_hash({"schema_version": "1.0", "routing": {}})
True
>>> len(policy_id_for("0" * 64)), policy_id_for("0" * 64) == policy_id_for("0" * 64)
(36, True)
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Mapping

from ..canonical import canonical_json

#: Fields of the snapshot that are not content and so are not hashed (docs/canonical-json.md).
UNHASHED_FIELDS = ("hash", "policy_id", "created_at")
#: policy_id = uuid5(POLICY_ID_NAMESPACE, hash): the same content always has the same id.
POLICY_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://polc.dev/policy-id")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def policy_id_for(content_hash: str) -> str:
    """The UUID of a content hash; deterministic, so equal content has an equal id."""
    return str(uuid.uuid5(POLICY_ID_NAMESPACE, content_hash))


def snapshot_hash(snapshot: Mapping[str, Any]) -> str:
    """sha256 of the RFC 8785 canonical JSON of ``snapshot`` without its unhashed fields."""
    return sha256_hex(canonical_json({k: v for k, v in snapshot.items() if k not in UNHASHED_FIELDS}))


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """The manifest's own sha256: of its canonical JSON without the ``sha256`` field."""
    return sha256_hex(canonical_json({k: v for k, v in manifest.items() if k != "sha256"}))


def is_full_hash(text: str) -> bool:
    """True for 64 lowercase hex characters, the shape of a content hash / policy_bundle_id."""
    return len(text) == 64 and all(ch in "0123456789abcdef" for ch in text)
