"""Canonical JSON bytes and hashes for the registry: RFC 8785 (``compiler.canonical``) and the
content identity of the bundle package, behind one name each.

>>> canonical_bytes({"b": 1, "a": [True, None]})
b'{"a":[true,null],"b":1}'
>>> sha256_hex(b"")[:12]
'e3b0c44298fc'
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from ..canonical import canonical_json

def canonical_bytes(value: Any) -> bytes:
    return canonical_json(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_hash(value: Any) -> str:
    """sha256 of the canonical JSON of ``value``."""
    return sha256_hex(canonical_bytes(value))


def utc_now() -> str:
    """The current time as the contracts' Timestamp (microseconds, Z)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
