"""Canonical JSON bytes and hashes for the registry, behind one function each.

``compiler.canonical`` (RFC 8785) is used when it is installed; until then, sorted keys with
compact separators, which agrees with RFC 8785 for every value without floats.

>>> canonical_bytes({"b": 1, "a": [True, None]})
b'{"a":[true,null],"b":1}'
>>> sha256_hex(b"")[:12]
'e3b0c44298fc'
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

#: Keys left out of a snapshot's content hash (DESIGN.md §2).
VOLATILE_SNAPSHOT_KEYS = ("hash", "policy_id", "created_at")


def canonical_bytes(value: Any) -> bytes:
    try:
        from ..canonical import canonical_json
    except ImportError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    out = canonical_json(value)
    return out.encode("utf-8") if isinstance(out, str) else out


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_hash(value: Any) -> str:
    """sha256 of the canonical JSON of ``value``."""
    return sha256_hex(canonical_bytes(value))


def snapshot_content_hash(snapshot: dict) -> str:
    """The content hash of a PolicySnapshot: its canonical JSON without the volatile keys."""
    return json_hash({k: v for k, v in snapshot.items() if k not in VOLATILE_SNAPSHOT_KEYS})


def utc_now() -> str:
    """The current time as the contracts' Timestamp (microseconds, Z)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
