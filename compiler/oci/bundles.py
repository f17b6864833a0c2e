"""The bundle operations OCI distribution needs, under the names of the bundle package.

OCI code reads and writes bundles only through these functions: ``open_bundle`` (a bundle
directory, verified), ``verify_bundle_files`` (files pulled from a registry, verified in
memory before anything touches the disk), ``write_bundle`` (staged directory + rename) and
``point_head`` under ``storage_lock``. They delegate to ``compiler/storage/bundles.py``,
``compiler/runtime/identity.py`` and ``compiler/fsutil.py`` (the readers, hashes and staged
writes of bundles today), importing none of the compiler's pipeline, so a router pulling from a
registry stays light.

>>> sorted(verify_bundle_files({}).files)
Traceback (most recent call last):
  ...
compiler.errors.IntegrityError: the pulled files hold no policy.manifest.json
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from ..diagnostics import Diagnostic
from ..errors import IntegrityError
from ..runtime.identity import HEAD_FILE, MANIFEST_FILE, SNAPSHOT_FILE, manifest_digest, snapshot_hash

__all__ = ["HEAD_FILE", "MANIFEST_FILE", "SNAPSHOT_FILE", "Bundle", "find_bundle", "open_bundle", "point_head",
           "storage_lock", "verify_bundle_files", "write_bundle"]


@dataclass(frozen=True)
class Bundle:
    snapshot: dict
    manifest: dict
    files: Mapping[str, bytes]  # every file as stored, the manifest included
    path: Path | None = None

    @property
    def hash(self) -> str:
        return self.snapshot["hash"]

    @property
    def policy_id(self) -> str:
        return self.snapshot["policy_id"]

    @property
    def version(self) -> str | None:
        return self.manifest.get("policy", {}).get("version")

    @property
    def policy_name(self) -> str | None:
        policy = self.manifest.get("policy", {})
        return policy.get("name") or policy.get("model_type")


def open_bundle(path: str | Path) -> Bundle:
    """The verified bundle in directory ``path``; IntegrityError (exit 4) / InputError (exit 3)."""
    from ..storage.bundles import open_bundle as storage_open

    stored = storage_open(Path(path))
    return Bundle(stored.snapshot, stored.manifest, stored.all_files(), stored.path)


def find_bundle(ref: str, out_dir: Path) -> Path:
    """The bundle directory ``ref`` names: a bundle directory, a head pointer (or the out dir
    holding one), or a hash, unique prefix or policy_id of a bundle in ``out_dir``."""
    from ..runtime.resolve import resolve_pin
    from ..storage.bundles import resolve_bundle

    if Path(ref).exists():
        return resolve_bundle(Path(ref))
    return resolve_pin(ref, out_dir)


def verify_bundle_files(files: Mapping[str, bytes]) -> Bundle:
    """A bundle from its files (every one, the manifest included), verified as ``open_bundle`` does:
    the manifest's own sha256, exactly the listed files with their sha256 and size, and the
    snapshot hashing to the hash the manifest names."""
    raw = files.get(MANIFEST_FILE)
    if raw is None:
        raise _integrity(f"the pulled files hold no {MANIFEST_FILE}")
    manifest = _json_object(raw, MANIFEST_FILE)
    if manifest.get("sha256") != manifest_digest(manifest):
        raise _integrity(f"{MANIFEST_FILE} does not match its own sha256")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or SNAPSHOT_FILE not in listed:
        raise _integrity(f"{MANIFEST_FILE} does not list the bundle's files")
    if set(listed) != set(files) - {MANIFEST_FILE}:
        extra = sorted(set(files) - set(listed) - {MANIFEST_FILE})
        missing = sorted(set(listed) - set(files))
        raise _integrity(f"the files do not match the manifest (missing {missing}, unlisted {extra})")
    for name, meta in sorted(listed.items()):
        data = files[name]
        if not isinstance(meta, dict) or (meta.get("byte_size"), meta.get("sha256")) != (
                len(data), hashlib.sha256(data).hexdigest()):
            raise _integrity(f"{name} does not match its manifest entry")
    snapshot = _json_object(files[SNAPSHOT_FILE], SNAPSHOT_FILE)
    digest = snapshot.get("hash")
    if snapshot_hash(snapshot) != digest or manifest.get("policy", {}).get("hash") != digest:
        raise _integrity(f"{SNAPSHOT_FILE} does not hash to the policy hash its manifest names")
    return Bundle(snapshot, manifest, dict(files))


def write_bundle(out_dir: Path, bundle: Bundle) -> Path:
    """``out_dir/<hash>/`` written all at once (staged directory + rename); a no-op when that
    complete bundle already exists, which must then hold the same content."""
    from ..fsutil import publish_directory

    target = Path(out_dir) / bundle.hash
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    if target.exists() or not publish_directory(target, dict(bundle.files)):
        _verify_existing(target, bundle)
    return target


def _verify_existing(target: Path, bundle: Bundle) -> None:
    # The compiler's writer (compiler/passes/bundle.py) checks the same: same name, same content.
    try:
        present = {name: (target / name).read_bytes() for name in bundle.files}
    except OSError:
        raise _integrity(f"bundle `{target}` exists but is incomplete; move it aside and pull again") from None
    if verify_bundle_files(present).hash != bundle.hash:
        raise _integrity(f"bundle `{target}` exists with other content; move it aside and pull again")


def point_head(out_dir: Path, bundle: Bundle) -> None:
    """Move the head pointer ``out_dir/policy.json`` to ``bundle`` (call under ``storage_lock``)."""
    from ..storage.bundles import point_head as storage_point_head

    storage_point_head(Path(out_dir), bundle.snapshot, bundle.manifest)


@contextlib.contextmanager
def storage_lock(out_dir: Path) -> Iterator[None]:
    """The lock everything that moves a head pointer holds (build, delta apply, restore, ...)."""
    from ..storage.jsonl import LOCK_FILE, locked

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with locked(Path(out_dir) / LOCK_FILE):
        yield


def _json_object(raw: bytes, name: str) -> dict:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _integrity(f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _integrity(f"{name} is not a JSON object")
    return value


def _integrity(message: str) -> IntegrityError:
    return IntegrityError(message, [Diagnostic.error("POLC907", message, hint=(
        "the artifact's layers are not the bundle they claim to be; push the bundle again from a "
        "verified copy"))])
