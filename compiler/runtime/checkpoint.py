"""Signed checkpoints of the registry's audit log (a signed tree head, as Certificate Transparency
logs publish): Ed25519 over the sequence number and hash of the newest event, and the time.

The signed message is the UTF-8 text::

    polc-checkpoint/v1
    <origin>
    <seq>
    <head_hash>
    <signed_at_utc>

and a checkpoint is that, as JSON, with ``keyid`` (sha256 of the raw public key) and the base64
``signature``. Whoever keeps the newest checkpoint they saw can later prove the log was not
re-chained, truncated or rewound behind it: ``polc registry verify --checkpoint FILE`` (exit 4),
and a ``RegistryWatcher`` refuses a registry that serves an older one.

Standard library only; ``cryptography`` is imported when a signature is made or checked.

>>> cp = {"format": FORMAT, "origin": "r", "seq": 3, "head_hash": "ab" * 32, "signed_at_utc": "2026-01-01T00:00:00Z"}
>>> signed_text(cp).decode().splitlines()[:3]
['polc-checkpoint/v1', 'r', '3']
>>> is_older({"seq": 2, "head_hash": "x"}, {"seq": 3, "head_hash": "y"})
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, Mapping

FORMAT = "polc-checkpoint/v1"


def signed_text(checkpoint: Mapping[str, Any]) -> bytes:
    return (f"{FORMAT}\n{checkpoint['origin']}\n{int(checkpoint['seq'])}\n{checkpoint['head_hash']}\n"
            f"{checkpoint['signed_at_utc']}\n").encode("utf-8")


def public_keyid(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign(private_key, origin: str, seq: int, head_hash: str, signed_at: str) -> dict:
    body = {"format": FORMAT, "origin": origin, "seq": int(seq), "head_hash": head_hash, "signed_at_utc": signed_at}
    signature = private_key.sign(signed_text(body))
    return {**body, "keyid": public_keyid(private_key.public_key()),
            "signature": base64.b64encode(signature).decode("ascii")}


def signature_ok(checkpoint: Mapping[str, Any], public_key) -> bool:
    """Whether ``checkpoint`` is well formed and signed by ``public_key`` (an Ed25519 public key)."""
    from cryptography.exceptions import InvalidSignature

    try:
        if checkpoint.get("format") != FORMAT or checkpoint.get("keyid") != public_keyid(public_key):
            return False
        public_key.verify(base64.b64decode(str(checkpoint["signature"]), validate=True), signed_text(checkpoint))
        return True
    except (InvalidSignature, binascii.Error, KeyError, TypeError, ValueError):
        return False


def load_public_key_pem(data: bytes):
    """An Ed25519 public key from PEM bytes (a public key, or the public half of a private one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    if b"PRIVATE KEY" in data:
        key = serialization.load_pem_private_key(data, password=None)
        key = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 key")
    return key


def is_older(candidate: Mapping[str, Any], newest: Mapping[str, Any]) -> bool:
    """True when ``candidate`` is behind ``newest`` (a rewound log), or claims the same length with
    another head (a forked or re-chained log)."""
    if int(candidate["seq"]) != int(newest["seq"]):
        return int(candidate["seq"]) < int(newest["seq"])
    return candidate["head_hash"] != newest["head_hash"]
