"""Reading a bundle for intake: find it, recompute its content hash, check its manifest.

A bundle is ``<out>/<hash>/`` with ``snapshot.json`` and ``policy.manifest.json``
(DESIGN.md §3). Intake refuses any mismatch between the directory name, the snapshot's
``hash`` field, the recomputed content hash and the manifest (IntegrityError, exit 4).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .canon import canonical_bytes, sha256_hex, snapshot_content_hash
from .errors import RegistryError, invalid

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SNAPSHOT_FILE = "snapshot.json"
MANIFEST_FILE = "policy.manifest.json"
#: Snapshots are small; a bigger file is refused before it is read into memory.
MAX_BUNDLE_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class BundleInfo:
    bundle_id: str
    directory: Path
    snapshot_sha256: str
    manifest: dict[str, Any] | None

    @property
    def version(self) -> str | None:
        policy = (self.manifest or {}).get("policy")
        return policy.get("version") if isinstance(policy, dict) else None

    @property
    def compatibility(self) -> dict[str, Any]:
        compat = (self.manifest or {}).get("compatibility")
        return compat if isinstance(compat, dict) else {}


def locate_bundle(ref: str, out_dir: Path | None) -> Path:
    """A bundle directory from a path (bundle dir or its snapshot.json) or a content hash."""
    path = Path(ref)
    if path.is_file() and path.name == SNAPSHOT_FILE:
        return path.parent
    if path.is_dir():
        return path
    if HEX64.match(ref) and out_dir is not None and (out_dir / ref).is_dir():
        return out_dir / ref
    where = f" or under {out_dir}" if out_dir else ""
    raise invalid("POLC610", f"no bundle at `{ref}`{where}", unreadable=True,
                  hint="pass a bundle directory (<out>/<hash>/) or the hash of a bundle in the project's out dir; "
                       "run `polc build` to make one")


def read_bundle(directory: Path) -> BundleInfo:
    """Verify and describe the bundle in ``directory``."""
    raw = _read(directory / SNAPSHOT_FILE)
    snapshot = _parse(raw, directory / SNAPSHOT_FILE)
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("hash"), str):
        raise invalid("POLC610", f"{directory / SNAPSHOT_FILE} is not a PolicySnapshot (no `hash` field)", unreadable=True)
    recorded = snapshot["hash"]
    actual = snapshot_content_hash(snapshot)
    if actual != recorded or (HEX64.match(directory.name) and directory.name != actual):
        raise _mismatch(f"bundle `{directory}`: snapshot content hashes to {actual}, but it is recorded as "
                        f"{recorded} (directory name `{directory.name}`)")
    manifest = _manifest(directory, actual, raw)
    return BundleInfo(actual, directory.resolve(), sha256_hex(raw), manifest)


def _manifest(directory: Path, digest: str, snapshot_raw: bytes) -> dict | None:
    path = directory / MANIFEST_FILE
    if not path.exists():
        return None
    manifest = _parse(_read(path), path)
    if not isinstance(manifest, dict):
        raise invalid("POLC610", f"{path} is not a JSON object", unreadable=True)
    if "sha256" in manifest and manifest["sha256"] != sha256_hex(canonical_bytes(
            {k: v for k, v in manifest.items() if k != "sha256"})):
        raise _mismatch(f"{path}: the manifest does not match its own sha256 (it was edited)")
    policy_hash = (manifest.get("policy") or {}).get("hash")
    if policy_hash is not None and policy_hash != digest:
        raise _mismatch(f"{path}: names bundle {policy_hash}, but the snapshot hashes to {digest}")
    recorded = ((manifest.get("files") or {}).get(SNAPSHOT_FILE) or {}).get("sha256")
    if recorded is not None and recorded != sha256_hex(snapshot_raw):
        raise _mismatch(f"{path}: snapshot.json bytes do not match the manifest's sha256")
    return manifest


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BUNDLE_FILE_BYTES:
            raise invalid("POLC610", f"{path} is larger than {MAX_BUNDLE_FILE_BYTES:,} bytes", unreadable=True)
        return path.read_bytes()
    except OSError as exc:
        raise invalid("POLC610", f"cannot read {path}: {exc.strerror or exc}", unreadable=True,
                      hint="a bundle directory holds snapshot.json and policy.manifest.json") from None


def _parse(raw: bytes, path: Path) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid("POLC610", f"{path} is not valid UTF-8 JSON: {exc}", unreadable=True) from None


def _mismatch(message: str) -> RegistryError:
    return RegistryError("INTEGRITY", "POLC611", message,
                         hint="a bundle is immutable; rebuild it with `polc build` instead of editing it")
