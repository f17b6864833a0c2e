"""Checkpoints on the registry side: read one from a file, check a log against it, keep the
server's signing key. The format and the signature are compiler/runtime/checkpoint.py's.

>>> seal = {"seq": 1, "hash": "ab" * 32}
>>> checkpoint_problems({"seq": 1, "head_hash": "ab" * 32}, [seal], (1, "ab" * 32))
[]
>>> checkpoint_problems({"seq": 2, "head_hash": "cd" * 32}, [seal], (1, "ab" * 32))[0]["code"]
'POLC639'
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..runtime.checkpoint import FORMAT, load_public_key_pem, signature_ok
from .audit import GENESIS
from .errors import RegistryError, invalid


def read_checkpoint_file(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(64 * 1024 + 1)
        value = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise invalid("POLC647", f"cannot read the checkpoint {path}: {exc.strerror or exc}", unreadable=True) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid("POLC647", f"{path} is not a JSON checkpoint: {exc}", unreadable=True) from None
    from .contracts import contract_errors

    problems = contract_errors(value, "Checkpoint") if isinstance(value, dict) else ["not a JSON object"]
    if problems:
        raise invalid("POLC647", f"{path} is not a {FORMAT} checkpoint: {problems[0]}", unreadable=True,
                      hint="save the JSON of GET /v1/checkpoints/latest (or `polc registry checkpoint --out FILE`)")
    return value


def checkpoint_signature_problems(checkpoint: dict, key_path: str | None) -> list[dict]:
    if key_path is None:
        return []
    try:
        key = load_public_key_pem(Path(key_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise invalid("POLC624", f"cannot load the checkpoint key {key_path}: {exc}", unreadable=True) from None
    if signature_ok(checkpoint, key):
        return []
    return [{"code": "POLC648", "seq": checkpoint.get("seq"),
             "message": f"the checkpoint's signature does not verify with {key_path}: it was not signed by that server"}]


def checkpoint_problems(checkpoint: dict, events: list[dict], head: tuple[int, str]) -> list[dict]:
    """Problems of a log (``events`` in seq order, chain already checked) against a checkpoint it
    must extend: it may have grown since, never shrunk or changed below it."""
    seq, digest = int(checkpoint["seq"]), checkpoint["head_hash"]
    if head[0] < seq:
        return [{"code": "POLC639", "seq": seq, "message": f"the log ends at event {head[0]}, but a checkpoint signed "
                 f"at {checkpoint.get('signed_at_utc')} covered {seq} events: it was truncated or rewound"}]
    at = GENESIS if seq == 0 else next((e.get("hash") for e in events if e.get("seq") == seq), None)
    if at != digest:
        return [{"code": "POLC639", "seq": seq, "message": f"event {seq} hashes to {str(at)[:16]}…, but the checkpoint "
                 f"signed at {checkpoint.get('signed_at_utc')} says {digest[:16]}…: the log was re-chained or "
                 "rewritten since"}]
    return []


def load_or_create_signing_key(path: Path):
    """The server's Ed25519 checkpoint key; made (mode 0600, never overwritten) when missing, so
    several server processes sharing the file race safely: the first creates it, the rest read it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(staged, path)  # complete before it appears, and never over another process's key
        except FileExistsError:
            pass
        finally:
            os.unlink(staged)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise RegistryError("INVALID_PAYLOAD", "POLC800", f"cannot load the checkpoint key {path}: {exc}",
                            exit_code=3) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise RegistryError("INVALID_PAYLOAD", "POLC800", f"the checkpoint key {path} is not Ed25519", exit_code=3)
    return key
