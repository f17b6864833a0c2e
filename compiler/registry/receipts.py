"""Gate receipts: an in-toto Statement naming the bundle, in a DSSE envelope signed with Ed25519.

The registry accepts a receipt only when its verdict is PASS and its subject is the bundle
being published; when policy.toml names trusted keys, only an envelope signed by one of them.

>>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
>>> key = Ed25519PrivateKey.generate()
>>> st = statement("reflex_promotion", "PASS", "ab" * 32, evaluated_at="2026-01-01T00:00:00Z")
>>> envelope = sign(st, key)
>>> check_receipt(envelope, "ab" * 32, [key.public_key()])["signature"]
'verified'
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any, Iterable

from .canon import canonical_bytes, sha256_hex
from .errors import RegistryError, invalid

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://polc.dev/GateReceipt/v1"
SUBJECT_NAME = "policy_bundle"


def statement(gate: str, verdict: str, bundle_id: str, *, evaluated_at: str, metrics_sha256: str | None = None,
              failing: Iterable[str] = (), evaluator: dict | None = None) -> dict:
    predicate: dict[str, Any] = {"gate": gate, "verdict": verdict, "bundle_id": bundle_id,
                                 "evaluated_at_utc": evaluated_at, "failing_conditions": list(failing)}
    if metrics_sha256:
        predicate["metrics_digest"] = {"sha256": metrics_sha256}
    if evaluator:
        predicate["evaluator"] = evaluator
    return {"_type": STATEMENT_TYPE, "subject": [{"name": SUBJECT_NAME, "digest": {"sha256": bundle_id}}],
            "predicateType": PREDICATE_TYPE, "predicate": predicate}


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is actually signed."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def keyid(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_hex(raw)


def sign(st: dict, private_key) -> dict:
    body = canonical_bytes(st)
    signature = private_key.sign(pae(PAYLOAD_TYPE, body))
    return {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(body).decode(),
            "signatures": [{"keyid": keyid(private_key.public_key()), "sig": base64.b64encode(signature).decode()}]}


def unwrap(receipt: dict) -> tuple[dict, dict | None]:
    """(statement, envelope or None) of a receipt; the payload of an envelope must parse."""
    if "payloadType" not in receipt:
        return receipt, None
    try:
        st = json.loads(base64.b64decode(receipt["payload"], validate=True))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise invalid("POLC620", f"the receipt's DSSE payload is not base64 JSON: {exc}", unreadable=True) from None
    from .contracts import require

    return require(st, "InTotoStatement"), receipt


def check_receipt(receipt: dict, bundle_id: str, trusted: list) -> dict:
    """A ReceiptCheck; raises GATE_NOT_PASS or INTEGRITY errors for a receipt that must be refused."""
    st, envelope = unwrap(receipt)
    predicate = st["predicate"]
    subjects = {s["digest"]["sha256"] for s in st["subject"]}
    if predicate["bundle_id"] != bundle_id or bundle_id not in subjects:
        raise RegistryError("GATE_NOT_PASS", "POLC622", f"the gate receipt is for bundle {predicate['bundle_id']}, "
                            f"not {bundle_id}", hint="run the gate against this bundle and publish with its receipt")
    if predicate["verdict"] != "PASS":
        failing = ", ".join(predicate.get("failing_conditions") or []) or "no conditions listed"
        raise RegistryError("GATE_NOT_PASS", "POLC621", f"gate `{predicate['gate']}` did not pass ({failing})",
                            hint="only bundles whose gate receipt is PASS can be published")
    signature, signer = _signature_status(envelope, trusted)
    return {"gate": predicate["gate"], "verdict": "PASS", "subject_matches": True, "signature": signature, "keyid": signer}


def _signature_status(envelope: dict | None, trusted: list) -> tuple[str, str | None]:
    if not trusted:
        return ("signed_not_checked" if envelope else "unsigned"), None
    if envelope is None:
        raise _untrusted("the gate receipt is not signed, and policy.toml [registry] trusted_keys requires a signature")
    body = base64.b64decode(envelope["payload"])
    message = pae(envelope["payloadType"], body)
    for sig in envelope["signatures"]:
        try:
            raw = base64.b64decode(sig["sig"], validate=True)
        except (binascii.Error, ValueError):
            continue
        for key in trusted:
            if _verifies(key, raw, message):
                return "verified", keyid(key)
    raise _untrusted("no signature on the gate receipt verifies with a trusted key")


def _verifies(key, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, message)
        return True
    except InvalidSignature:
        return False


def _untrusted(message: str) -> RegistryError:
    return RegistryError("INTEGRITY", "POLC623", message,
                         hint="sign the receipt with a key listed in [registry] trusted_keys (polc gate run --key)")


def load_public_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise invalid("POLC624", f"cannot load trusted key {path}: {exc}", unreadable=True,
                      hint="trusted_keys lists PEM Ed25519 public keys (polc registry keygen writes one)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise invalid("POLC624", f"trusted key {path} is not an Ed25519 public key", unreadable=True)
    return key


def load_private_key(path: str | None):
    """The signing key from ``path``, else the PEM in POLC_GATE_KEY, else the file POLC_GATE_KEY_FILE."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem, where = None, path
    try:
        if path:
            pem = Path(path).read_bytes()
        elif os.environ.get("POLC_GATE_KEY"):
            pem, where = os.environ["POLC_GATE_KEY"].encode(), "$POLC_GATE_KEY"
        elif os.environ.get("POLC_GATE_KEY_FILE"):
            where = os.environ["POLC_GATE_KEY_FILE"]
            pem = Path(where).read_bytes()
        if pem is None:
            return None
        key = serialization.load_pem_private_key(pem, password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise invalid("POLC624", f"cannot load the signing key from {where}: {exc}", unreadable=True) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise invalid("POLC624", f"the signing key in {where} is not Ed25519", unreadable=True)
    return key


def generate_keypair(prefix: Path) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (private, mode 0600) and ``PREFIX.pub`` (PEM); never overwrites."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ..fsutil import atomic_write_bytes

    private, public = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for p in (private, public):
        if p.exists():
            raise invalid("POLC624", f"{p} already exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        private.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(private, pem, mode=0o600)
        atomic_write_bytes(public, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    except OSError as exc:
        raise invalid("POLC624", f"cannot write the key pair {prefix}: {exc.strerror or exc}", unreadable=True) from None
    return private, public
