"""The bundle operations OCI distribution needs, under the names of the bundle package.

OCI code reads and writes bundles only through these functions: ``open_bundle`` (a bundle
directory, verified), ``verify_bundle_files`` (files pulled from a registry, verified in
memory before anything touches the disk), ``write_bundle`` (staged directory + rename) and
``point_head`` under ``storage_lock``.

They check and write exactly what ``compiler/runtime/loader.py`` verifies and
``compiler/passes/bundle.py`` writes (the same file names, hashes, head pointer and storage
lock), standing only on ``compiler/canonical.py`` and ``compiler/fsutil.py``: the runtime
imports this package for ``load_snapshot("oci://…")``, so it may not import the runtime, the
storage package or the pipeline back (docs/architecture.md: no import cycle between packages).

>>> sorted(verify_bundle_files({}).files)
Traceback (most recent call last):
  ...
compiler.errors.IntegrityError: the pulled files hold no policy.manifest.json
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from ..canonical import CanonicalError, canonical_json
from ..diagnostics import Diagnostic
from ..errors import InputError, IntegrityError

__all__ = ["HEAD_FILE", "MANIFEST_FILE", "SNAPSHOT_FILE", "Bundle", "open_bundle", "point_head",
           "storage_lock", "verify_bundle_files", "write_bundle"]

SNAPSHOT_FILE, MANIFEST_FILE, HEAD_FILE = "snapshot.json", "policy.manifest.json", "policy.json"
HEAD_SCHEMA_VERSION = "polc_head@v1"
#: Held (flock) by everything that moves a head pointer (build, delta apply, restore, pull --set-head).
LOCK_FILE = ".polc-storage.lock"
_UNHASHED = ("hash", "policy_id", "created_at")
_MAX_FILE_BYTES = 256 * 1024 * 1024


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
    path = Path(path)
    try:
        names = sorted(entry.name for entry in os.scandir(path))
        files = {name: _read(path / name) for name in names}
    except OSError as exc:
        raise InputError(f"{path} cannot be read", [Diagnostic.error("POLC700", (
            f"`{path}` is not a readable bundle directory: {exc.strerror or exc}"),
            hint="pass a bundle directory <out>/<hash>, its hash, or the head pointer policy.json")]) from None
    bundle = verify_bundle_files(files)
    if path.name != bundle.hash:
        raise _integrity(f"bundle directory `{path}` is named {path.name}, but its snapshot hashes to {bundle.hash}")
    return Bundle(bundle.snapshot, bundle.manifest, bundle.files, path)


def verify_bundle_files(files: Mapping[str, bytes]) -> Bundle:
    """A bundle from its files (every one, the manifest included), verified as ``load_snapshot``
    verifies a bundle directory: the manifest's own sha256, exactly the listed files with their
    sha256 and size, and the snapshot hashing to its hash, which the manifest names."""
    raw = files.get(MANIFEST_FILE)
    if raw is None:
        raise _integrity(f"the pulled files hold no {MANIFEST_FILE}")
    manifest = _json_object(raw, MANIFEST_FILE)
    if manifest.get("sha256") != _digest(manifest, ("sha256",)):
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
    if _digest(snapshot, _UNHASHED) != digest or manifest.get("policy", {}).get("hash") != digest:
        raise _integrity(f"{SNAPSHOT_FILE} does not hash to the policy hash its manifest names")
    return Bundle(snapshot, manifest, dict(files))


def write_bundle(out_dir: Path, bundle: Bundle) -> Path:
    """``out_dir/<hash>/`` written all at once (staged directory + rename); a no-op when that
    complete bundle already exists, which must then hold the same content."""
    from ..fsutil import publish_directory

    target = Path(out_dir) / bundle.hash
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        if target.exists() or not publish_directory(target, dict(bundle.files)):
            open_bundle(target)  # an existing bundle is never rewritten: it must verify as this one
    except OSError as exc:
        raise InputError(f"cannot write to {out_dir}", [Diagnostic.error(
            "POLC020", f"the output directory `{out_dir}` is not writable: {exc.strerror or exc}",
            hint="choose another directory with --out, or fix its permissions")]) from None
    return target


def point_head(out_dir: Path, bundle: Bundle) -> None:
    """Move the head pointer ``out_dir/policy.json`` to ``bundle`` (call under ``storage_lock``)."""
    from ..fsutil import atomic_write_bytes

    head = {"schema_version": HEAD_SCHEMA_VERSION, "active": bundle.hash, "policy_id": bundle.policy_id,
            "manifest_sha256": bundle.manifest["sha256"]}
    atomic_write_bytes(Path(out_dir) / HEAD_FILE, canonical_json(head))


@contextlib.contextmanager
def storage_lock(out_dir: Path) -> Iterator[None]:
    """The exclusive lock everything that moves ``out_dir``'s head pointer holds."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(out_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _digest(value: dict, without: tuple[str, ...]) -> str | None:
    try:
        return hashlib.sha256(canonical_json({k: v for k, v in value.items() if k not in without})).hexdigest()
    except CanonicalError:
        return None  # polc never wrote it: it cannot match any recorded hash


def _read(path: Path) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(_MAX_FILE_BYTES + 1)
    if len(data) > _MAX_FILE_BYTES:
        raise _integrity(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    return data


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
        "the files are not the bundle they claim to be; use a verified copy (polc build, or pull it again)"))])
