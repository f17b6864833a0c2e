"""Reading, verifying and deriving bundles on disk.

``open_bundle`` verifies everything a bundle claims about itself: the manifest's own
sha256, every file's sha256 and size against ``manifest["files"]``, and that the snapshot
hashes to the directory's name. ``derive_bundle`` makes the files of a new bundle from an
old one with some snapshot blocks and files replaced (a delta, a restore).

>>> looks_like_hash("ab" * 32), looks_like_hash("policy.json")
(True, False)
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, Span
from ..errors import InputError, IntegrityError

SNAPSHOT_FILE, MANIFEST_FILE, HEAD_FILE = "snapshot.json", "policy.manifest.json", "policy.json"
_HASH = re.compile(r"^[0-9a-f]{64}$")


def looks_like_hash(name: str) -> bool:
    return bool(_HASH.match(name))


@dataclass(frozen=True)
class Bundle:
    path: Path
    snapshot: dict
    manifest: dict
    files: dict[str, bytes]  # the files the manifest lists (not the manifest itself)
    manifest_bytes: bytes = b""

    def all_files(self) -> dict[str, bytes]:
        """Every file of the bundle, the manifest included, as written on disk."""
        return {**self.files, MANIFEST_FILE: self.manifest_bytes}

    @property
    def hash(self) -> str:
        return self.snapshot["hash"]


def not_found(message: str, hint: str) -> InputError:
    return InputError(message, [Diagnostic.error("POLC350", message, hint=hint)])


def integrity(code: str, message: str, where: str, hint: str) -> IntegrityError:
    return IntegrityError(message, [Diagnostic.error(code, message, Span.whole_file(where), hint=hint)])


def resolve_bundle(ref: str | Path, out_dir: Path | None = None) -> Path:
    """A bundle directory from a path, a head pointer file, or a hash inside ``out_dir``."""
    path = Path(ref)
    if not path.exists() and out_dir is not None and looks_like_hash(str(ref)):
        path = out_dir / str(ref)
    if path.is_file() and path.name == HEAD_FILE:
        path = path.parent / str(read_json(path).get("active"))
    elif path.is_dir() and (path / HEAD_FILE).is_file() and not (path / SNAPSHOT_FILE).exists():
        path = path / str(read_json(path / HEAD_FILE).get("active"))
    if not (path / SNAPSHOT_FILE).is_file():
        raise not_found(f"`{ref}` is not a bundle (no {SNAPSHOT_FILE})",
                        "pass a bundle directory <out>/<hash>, its hash, or the head pointer policy.json")
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise not_found(f"`{path}` does not exist", "check the path") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} unreadable", [Diagnostic.error(
            "POLC350", f"`{path}` cannot be read as JSON: {exc}", Span.whole_file(str(path)),
            hint="the file is damaged; restore it from an archive")]) from None


def open_bundle(ref: str | Path, out_dir: Path | None = None, *, name: str | None = None) -> Bundle:
    """Read and fully verify a bundle; IntegrityError (exit 4) on any mismatch.

    ``name`` is the hash the bundle must have (default: its directory name; an archive
    directory ``<date>_<hash>`` passes the hash explicitly).
    """
    from ..passes.bundle import manifest_digest
    from ..passes.snapshot import snapshot_hash

    path = resolve_bundle(ref, out_dir)
    name = name or path.name
    manifest = read_json(path / MANIFEST_FILE)
    if not isinstance(manifest, dict) or manifest_digest(manifest) != manifest.get("sha256"):
        raise integrity("POLC352", f"{path / MANIFEST_FILE} does not match its own sha256", str(path / MANIFEST_FILE),
                        "the manifest was edited; restore the bundle from its archive")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or SNAPSHOT_FILE not in listed or not all(isinstance(m, dict) for m in listed.values()):
        raise integrity("POLC352", f"{path / MANIFEST_FILE} does not list the bundle's files", str(path / MANIFEST_FILE),
                        "the manifest is not a polc bundle manifest; restore the bundle from its archive")
    files = {file: _verified_file(path, file, meta) for file, meta in sorted(listed.items())}
    try:
        snapshot = json.loads(files[SNAPSHOT_FILE])
        if not isinstance(snapshot, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise integrity("POLC352", f"{path / SNAPSHOT_FILE} is not a snapshot: {exc}", str(path / SNAPSHOT_FILE),
                        "restore the bundle from its archive") from None
    if snapshot.get("hash") != name or snapshot_hash(snapshot) != name:
        raise integrity("POLC352", f"{path / SNAPSHOT_FILE} does not hash to its bundle name {name}",
                        str(path / SNAPSHOT_FILE), "a bundle is named by its content hash; it was edited or misnamed")
    if manifest.get("policy", {}).get("hash") != name:
        raise integrity("POLC352", f"{path / MANIFEST_FILE} names policy {manifest.get('policy', {}).get('hash')}, "
                        f"not {name}", str(path / MANIFEST_FILE), "restore the bundle from its archive")
    return Bundle(path, snapshot, manifest, files, (path / MANIFEST_FILE).read_bytes())


def _verified_file(path: Path, name: str, meta: dict) -> bytes:
    if "/" in name or name.startswith("."):
        raise integrity("POLC351", f"manifest names an unsafe file `{name}`", str(path / MANIFEST_FILE),
                        "a manifest lists plain file names inside its bundle")
    try:
        data = (path / name).read_bytes()
    except OSError:
        raise integrity("POLC351", f"{path / name} is missing", str(path / name),
                        "the bundle is incomplete; restore it from its archive") from None
    if len(data) != meta.get("byte_size") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise integrity("POLC351", f"{path / name} does not match the manifest ({len(data)} bytes, "
                        f"manifest says {meta.get('byte_size')})", str(path / name),
                        "the file was truncated or edited; restore the bundle from its archive")
    return data


def derive_snapshot(snapshot: dict, blocks: dict[str, Any], created_at: str) -> dict:
    """``snapshot`` with ``blocks`` replaced and its identity (hash, policy_id) recomputed."""
    from ..passes.snapshot import policy_id_for, snapshot_hash

    content = {k: v for k, v in snapshot.items() if k not in ("hash", "policy_id", "created_at")}
    content.update(blocks)
    digest = snapshot_hash(content)
    return {**content, "hash": digest, "policy_id": policy_id_for(digest), "created_at": created_at}


def derive_bundle(base: Bundle, blocks: dict[str, Any], files: dict[str, bytes], created_at: str,
                  manifest_extra: dict[str, Any] | None = None) -> tuple[dict, dict[str, bytes]]:
    """(snapshot, files) of a bundle like ``base`` with ``blocks`` and ``files`` replaced."""
    from ..canonical import canonical_json
    from ..passes.bundle import manifest_digest, sha256_hex

    snapshot = derive_snapshot(base.snapshot, blocks, created_at)
    digest = snapshot["hash"]
    out = {name: data for name, data in base.files.items() if name not in (MANIFEST_FILE, "delta_log.jsonl")}
    out.update(files)
    out[SNAPSHOT_FILE] = canonical_json(snapshot)
    manifest = {k: v for k, v in base.manifest.items() if k != "sha256"}
    manifest["policy"] = {**manifest["policy"], "hash": digest, "policy_id": snapshot["policy_id"],
                          "byte_size": len(out[SNAPSHOT_FILE]), "created_at": created_at}
    manifest["files"] = {n: {"sha256": sha256_hex(d), "byte_size": len(d)} for n, d in sorted(out.items())}
    manifest["rollout_state"] = "candidate"
    manifest.update(manifest_extra or {})
    manifest["sha256"] = manifest_digest(manifest)
    out[MANIFEST_FILE] = canonical_json(manifest)
    return snapshot, out


def head_for(snapshot: dict, manifest: dict) -> bytes:
    from ..canonical import canonical_json
    from ..passes.bundle import head_pointer

    return canonical_json(head_pointer(snapshot, manifest))


def point_head(out_dir: Path, snapshot: dict, manifest: dict) -> None:
    from ..fsutil import atomic_write_bytes

    atomic_write_bytes(out_dir / HEAD_FILE, head_for(snapshot, manifest))
