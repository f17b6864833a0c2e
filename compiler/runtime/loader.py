"""``load_snapshot``: find a compiled snapshot, verify every hash, migrate, and freeze it.

What can be loaded (``target``):

* the head pointer ``<out>/policy.json`` (or the out dir holding it): the active bundle;
* a bundle directory ``<out>/<hash>/``;
* a ``snapshot.json`` file (its bundle's manifest is verified too when it sits beside one);
* a ``policy_bundle_id`` (the full content hash, a unique prefix of at least 4 hex digits,
  or the bundle's policy_id UUID), resolved under the out dir ``root``: a pin. Pinning only
  selects a bundle; nothing on disk is touched.

What is verified: the snapshot's content hash (RFC 8785 canonical JSON without ``hash``,
``policy_id``, ``created_at``) against its ``hash`` field, its policy_id, the bundle directory
name, the head pointer's ``active`` and ``manifest_sha256``, the manifest's own ``sha256``, the
manifest's ``policy.hash``, and the sha256 and size of every file the manifest lists (a file in
the bundle that the manifest does not list is refused too). Any mismatch raises
``IntegrityError`` naming the file, the expected and the actual value.

>>> import tempfile; load_snapshot(tempfile.mkdtemp())
Traceback (most recent call last):
  ...
compiler.errors.InputError: ... holds no snapshot.json, policy.json or bundle directories
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from ..canonical import CanonicalError, canonical_json
from ..errors import InputError, IntegrityError, UsageError
from .errors import input_error, integrity_error
from .identity import (HEAD_FILE, HEAD_SCHEMA_VERSION, MANIFEST_FILE, SNAPSHOT_FILE, UNHASHED_FIELDS,
                       is_full_hash, manifest_digest, policy_id_for, sha256_hex)
from .migrations import migrate
from .resolve import resolve_pin
from .snapshot import Snapshot

#: Refuse to read a file larger than this (a snapshot is kilobytes; this stops a runaway read).
MAX_FILE_BYTES = 256 * 1024 * 1024
_HEAD_KEYS = {"schema_version", "active", "policy_id", "manifest_sha256"}
_REBUILD = "rebuild the bundle with `polc build`, or restore it from the registry"


def load_snapshot(target: str | os.PathLike, *, root: str | os.PathLike | None = None,
                  env: Mapping[str, str] | None = None) -> Snapshot:
    """The verified, immutable ``Snapshot`` at ``target`` (see the module docstring).

    ``root`` is the out dir (or the project dir) a bundle id is resolved under; ``env`` replaces
    ``os.environ`` when reading the safe modes (``POLICY_SAFE_MODE``, ``POLICY_SHADOW_MODE``).
    """
    if isinstance(target, str) and target.startswith(("http://", "https://")):  # a registry server (docs/registry.md)
        from .remote import load_remote

        return load_remote(target, env=env)
    if isinstance(target, str) and target.startswith("mv2://"):  # dual storage: a capsule URI (docs/storage.md)
        return _load_capsule(target, env)
    if not isinstance(target, (str, os.PathLike)):
        raise input_error("POLC700", f"load_snapshot() needs a path or a policy_bundle_id, got a "
                                     f"{type(target).__name__}", "pass a str or a pathlib.Path", UsageError)
    path = Path(target)
    if not path.exists() and _looks_like_id(str(target)):
        return _load_bundle(resolve_pin(str(target), root), env, head=None, pinned=str(target))
    if path.is_dir():
        if (path / SNAPSHOT_FILE).exists() or (path / MANIFEST_FILE).exists():
            return _load_bundle(path, env, head=None)
        if (path / HEAD_FILE).exists():
            return _load_head(path / HEAD_FILE, env)
        raise input_error("POLC700", f"`{path}` holds no snapshot.json, policy.json or bundle directories",
                          "pass the head pointer (<out>/policy.json), a bundle directory or a snapshot.json")
    if path.name == HEAD_FILE:
        return _load_head(path, env)
    if not path.exists():
        raise input_error("POLC700", f"`{path}` does not exist",
                          "pass the head pointer (<out>/policy.json), a bundle directory, a snapshot.json "
                          "or a policy_bundle_id")
    if (path.parent / MANIFEST_FILE).exists():
        return _load_bundle(path.parent, env, head=None, snapshot_name=path.name)
    return _load_file(path, env)


def _looks_like_id(text: str) -> bool:
    bare = text.replace("-", "")
    return 1 <= len(bare) <= 64 and all(ch in "0123456789abcdef" for ch in bare.lower()) and "/" not in text


# --- reading -------------------------------------------------------------------------------------

def read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise input_error("POLC700", f"`{path}` does not exist", _REBUILD) from None
    except OSError as exc:
        raise input_error("POLC700", f"`{path}` cannot be read: {exc.strerror or exc}",
                          "check that the path is a readable file") from None
    if len(data) > MAX_FILE_BYTES:
        raise input_error("POLC700", f"`{path}` is larger than {MAX_FILE_BYTES} bytes", _REBUILD)
    return data


def parse_json_object(data: bytes, path: Path, what: str, *, written_by_polc: bool = False,
                      strict_keys: bool = True) -> dict:
    """``data`` as a JSON object, or an error naming the file and the position of the problem.

    A file polc wrote whole (bundle files, head pointer) that does not parse was damaged after
    it was written: that is an ``IntegrityError``; any other file is an ``InputError``.
    """
    try:
        return _parse_json_object(data, path, what, strict_keys)
    except InputError as exc:
        if not written_by_polc:
            raise
        raise IntegrityError(exc.message, [replace(d, code="POLC704") for d in exc.diagnostics]) from None


def _parse_json_object(data: bytes, path: Path, what: str, strict_keys: bool) -> dict:
    # strict_keys=False skips the per-object duplicate check, for callers that compare the bytes
    # with their canonical form afterwards (a repeated key cannot survive that comparison).
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates) if strict_keys else json.loads(data)
    except UnicodeDecodeError as exc:
        raise input_error("POLC701", f"`{path}` is not UTF-8 (byte {exc.start})", _REBUILD) from None
    except json.JSONDecodeError as exc:
        raise input_error("POLC701", f"`{path}` is not valid JSON: {exc.msg} at line {exc.lineno} "
                                     f"column {exc.colno}", _REBUILD) from None
    except _DuplicateKey as exc:
        raise input_error("POLC701", f"`{path}` has the key `{exc.args[0]}` twice", _REBUILD) from None
    except RecursionError:
        raise input_error("POLC701", f"`{path}` is nested too deeply to be a {what}", _REBUILD) from None
    if not isinstance(value, dict):
        raise input_error("POLC701", f"`{path}` holds a JSON {type(value).__name__}, not a {what} object",
                          _REBUILD)
    return value


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    # Canonical JSON never repeats a key; a repeated one would let two readers see two policies.
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


# --- the three entry shapes ----------------------------------------------------------------------

def _load_head(head_path: Path, env) -> Snapshot:
    raw = read_bytes(head_path)
    head = parse_json_object(raw, head_path, "head pointer", written_by_polc=True)
    _check_canonical(raw, head, head_path)
    if (head.get("schema_version") != HEAD_SCHEMA_VERSION or set(head) != _HEAD_KEYS
            or not is_full_hash(str(head.get("active", "")))):
        raise integrity_error("POLC710", f"`{head_path}` is not a polc head pointer (expected schema_version "
                                         f"`{HEAD_SCHEMA_VERSION}` and a 64-hex `active` hash)", _REBUILD)
    bundle = head_path.parent / head["active"]
    if not bundle.is_dir():
        raise input_error("POLC706", f"head pointer `{head_path}` names bundle {head['active']}, "
                                     f"which is not in `{head_path.parent}`",
                          "the bundle was deleted or never copied: rebuild with `polc build` or restore it")
    return _load_bundle(bundle, env, head=(head_path, head))


def _load_bundle(bundle: Path, env, *, head, pinned: str | None = None,
                 snapshot_name: str = SNAPSHOT_FILE) -> Snapshot:
    manifest_path = bundle / MANIFEST_FILE
    if not manifest_path.exists():  # polc always writes one: a bundle without it was tampered with
        raise integrity_error("POLC704", f"bundle `{bundle}` has no {MANIFEST_FILE}", _REBUILD)
    manifest = _verified_manifest(manifest_path, bundle)
    snap_path = bundle / snapshot_name
    raw = read_bytes(snap_path)
    _check_listed_file(manifest, snap_path, raw)
    data = _verified_snapshot(raw, snap_path, in_bundle=True)
    _expect(bundle.name == data["hash"] or not is_full_hash(bundle.name), snap_path,
            "bundle directory name", bundle.name, data["hash"], "POLC705")
    policy = manifest.get("policy") if isinstance(manifest.get("policy"), dict) else {}
    _expect(policy.get("hash") == data["hash"], manifest_path, "policy.hash", policy.get("hash"),
            data["hash"], "POLC703")
    if head is not None:
        head_path, pointer = head
        _expect(pointer["manifest_sha256"] == manifest["sha256"], head_path, "manifest_sha256",
                pointer.get("manifest_sha256"), manifest["sha256"], "POLC703")
        _expect(pointer["policy_id"] == data["policy_id"], head_path, "policy_id",
                pointer.get("policy_id"), data["policy_id"], "POLC702")
    return _finish(data, env, source=head[0] if head else bundle, bundle=bundle, manifest=manifest,
                   pinned=pinned)


def _load_capsule(uri: str, env) -> Snapshot:
    """The snapshot stored under ``mv2://<workspace>/policy/<policy_id>`` in the capsule."""
    from ..storage.capsule import read_snapshot_bytes

    # The capsule checks its stored sha256; the content hash is verified here like any snapshot's.
    data = _verified_snapshot(read_snapshot_bytes(uri), Path(uri))
    return _finish(data, env, source=Path(uri), bundle=None, manifest=None, pinned=None)


def _load_file(path: Path, env) -> Snapshot:
    data = _verified_snapshot(read_bytes(path), path)
    return _finish(data, env, source=path, bundle=None, manifest=None, pinned=None)


def _finish(data: dict, env, *, source: Path, bundle: Path | None, manifest: dict | None,
            pinned: str | None) -> Snapshot:
    migrated, chain = migrate(data)
    return Snapshot.from_data(migrated, env=env, source=source, bundle_dir=bundle, manifest=manifest,
                              migrated_from=chain, pinned=pinned, stored=data if chain else None)


# --- verification --------------------------------------------------------------------------------

def _verified_snapshot(raw: bytes, path: Path, *, in_bundle: bool = False) -> dict:
    """The parsed snapshot, after checking its bytes are canonical and hash to its ``hash``."""
    data = parse_json_object(raw, path, "PolicySnapshot", written_by_polc=in_bundle, strict_keys=False)
    stored = data.get("hash")
    if not isinstance(stored, str) or not is_full_hash(stored):
        raise integrity_error("POLC702", f"`{path}` has no valid `hash` field (expected 64 hex digits)",
                              _REBUILD)
    content = _content_bytes_from_raw(raw, data)
    if content is None or sha256_hex(content) != stored:
        _check_by_reencoding(raw, data, path, stored)  # the exact path; raises on any mismatch
    _expect(data.get("policy_id") == policy_id_for(stored), path, "policy_id",
            policy_id_for(stored), data.get("policy_id"), "POLC702")
    return data


def _content_bytes_from_raw(raw: bytes, data: dict) -> bytes | None:
    """The hashed content's bytes, cut out of ``raw`` by removing the identity members.

    Why this is enough: if the result hashes to ``hash``, it *is* the canonical content polc
    hashed (sha256 preimage resistance), and ``raw`` is that content plus exactly the three
    cut members; each must sit at the top level, since that is where they were read from.
    So the parsed data is the content plus its identity, with no re-encoding of 1 MB of JSON.
    When the cut fails or does not hash (a legit nested "created_at" member found first, or
    tampering), the caller falls back to re-encoding, which decides exactly.
    """
    out = raw
    for key in UNHASHED_FIELDS:
        if key not in data:
            continue
        try:
            member = canonical_json(key) + b":" + canonical_json(data[key])
        except CanonicalError:
            return None
        for piece in (b"," + member, member + b","):
            at = out.find(piece)
            if at != -1:
                out = out[:at] + out[at + len(piece):]
                break
        else:
            return None
    return out


def _check_by_reencoding(raw: bytes, data: dict, path: Path, stored: str) -> None:
    try:
        full, content = _canonical_with_and_without_identity(data)
    except CanonicalError as exc:
        raise input_error("POLC701", f"`{path}`: {exc}", _REBUILD) from None
    actual = sha256_hex(content)
    _expect(actual == stored, path, "content hash", stored, actual, "POLC702")
    if full != raw:  # polc writes canonical JSON only: other bytes (even of equal meaning) are an edit
        raise integrity_error("POLC702", f"`{path}` is not in canonical form (RFC 8785): it was edited "
                                         "after polc wrote it", _REBUILD)


def _canonical_with_and_without_identity(data: dict) -> tuple[bytes, bytes]:
    """Canonical bytes of the whole snapshot and of its content (without hash, policy_id,
    created_at), from one canonicalization: canonical JSON is compositional, so both are the
    same sorted members joined, with or without the three identity members."""
    keys = sorted(data)
    if not all(key.isascii() for key in keys):  # UTF-16 key order could differ: take the plain path
        return canonical_json(data), canonical_json({k: v for k, v in data.items() if k not in UNHASHED_FIELDS})
    members = [(key, canonical_json(key) + b":" + canonical_json(data[key])) for key in keys]
    full = b"{" + b",".join(m for _, m in members) + b"}"
    content = b"{" + b",".join(m for key, m in members if key not in UNHASHED_FIELDS) + b"}"
    return full, content


def _verified_manifest(path: Path, bundle: Path) -> dict:
    raw = read_bytes(path)
    manifest = parse_json_object(raw, path, "manifest", written_by_polc=True)
    _check_canonical(raw, manifest, path)
    stored = manifest.get("sha256")
    actual = manifest_digest(manifest)
    _expect(stored == actual, path, "manifest sha256", stored, actual, "POLC703")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise integrity_error("POLC704", f"`{path}` has no `files` table", _REBUILD)
    for name, entry in sorted(files.items()):
        if name == SNAPSHOT_FILE:
            continue  # checked against the bytes the snapshot is parsed from, read once
        _check_listed_file(manifest, bundle / name, read_bytes(_inside(bundle, name, path)))
    for extra in sorted(p.name for p in bundle.iterdir()):
        if extra not in files and extra != MANIFEST_FILE:
            raise integrity_error("POLC704", f"`{bundle / extra}` is in the bundle but not in its manifest",
                                  "a bundle is immutable; remove the stray file or rebuild the bundle")
    return manifest


def _inside(bundle: Path, name: str, manifest_path: Path) -> Path:
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise integrity_error("POLC704", f"`{manifest_path}` lists the file `{name}`, which is not a plain "
                                         "file name in the bundle", _REBUILD)
    return bundle / name


def _check_listed_file(manifest: dict, path: Path, raw: bytes) -> None:
    entry = manifest["files"].get(path.name)
    if not isinstance(entry, dict):
        raise integrity_error("POLC704", f"`{path}` is not listed in the manifest's files", _REBUILD)
    actual = sha256_hex(raw)
    _expect(entry.get("sha256") == actual, path, "sha256 (manifest files entry)", entry.get("sha256"),
            actual, "POLC704")
    _expect(entry.get("byte_size") == len(raw), path, "byte size (manifest files entry)",
            entry.get("byte_size"), len(raw), "POLC704")


def _check_canonical(raw: bytes, value: dict, path: Path) -> None:
    # polc writes canonical JSON only, so other bytes with the same meaning are an edit too.
    try:
        canonical = canonical_json(value)
    except CanonicalError as exc:
        raise input_error("POLC701", f"`{path}`: {exc}", _REBUILD) from None
    if canonical != raw:
        raise integrity_error("POLC702", f"`{path}` is not in canonical form (RFC 8785): it was edited "
                                         "after polc wrote it", _REBUILD)


def _expect(ok: bool, path: Path, what: str, expected, actual, code: str) -> None:
    if not ok:
        raise integrity_error(code, f"`{path}`: {what} mismatch: expected {expected}, found {actual}",
                              "the file was changed after it was written; " + _REBUILD)
