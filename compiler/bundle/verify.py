"""The one bundle verifier: bytes in, a verified ``Bundle`` out, or the one error for the damage.

``verify_bundle_files`` checks, in this order (each failure names the file, what was expected
and what was found; codes in ``compiler/bundle/errors.py``):

1. the manifest: present, canonical JSON, ``policy_manifest@v2``, its own ``sha256`` present and
   right, a ``files`` table of plain known file names each with ``sha256`` and ``byte_size``,
   a known ``rollout_state``, a well-formed ``compatibility`` (POLC703);
2. the snapshot: canonical JSON that hashes to its ``hash``, with the ``policy_id`` of that
   hash (POLC702);
3. the listing: every listed file is there with that size and sha256, and nothing else is (POLC704);
   the bundle is named as expected (the directory name, the head's ``active``, an OCI
   annotation: POLC705), and the manifest's ``policy`` section names the same one (POLC703);
4. the other files are bound to the snapshot: ``policy.weights.bin`` has the sha256 and size of
   the snapshot's ``policy_weights``; ``policy.surface.yaml`` is there exactly when the snapshot
   has a ``surface``; ``delta_log.jsonl`` is one row producing this hash (POLC704).

``verify_snapshot_bytes`` is step 3 alone, for a loose ``snapshot.json``.

>>> from compiler.bundle import make_bundle
>>> b = make_bundle({"schema_version": "1.0", "routing": {}}, created_at="2026-01-01T00:00:00Z")
>>> verify_bundle_files(b.files).hash == b.hash
True
"""

from __future__ import annotations

from typing import Any, Mapping

from ..canonical import CanonicalError, canonical_json
from .errors import REBUILD, integrity, mismatch
from .identity import UNHASHED_FIELDS, is_full_hash, manifest_digest, policy_id_for, sha256_hex
from .jsonio import check_canonical, parse_object, parse_written
from .layout import (BUNDLE_FILES, DELTA_LOG_FILE, MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, ROLLOUT_STATES,
                     SNAPSHOT_FILE, SURFACE_FILE, WEIGHTS_FILE)
from .model import Bundle

_COMPAT_KEYS = {"snapshot_schema_version", "required_features", "min_runner_version", "max_runner_version",
                "feature_groups"}


def verify_bundle_files(files: Mapping[str, bytes], *, expected_hash: str | None = None,
                        where: str = "bundle", path=None) -> Bundle:
    """The verified ``Bundle`` these bytes make; IntegrityError (exit 4) on any damage.

    ``files`` maps file name to bytes for every file of the bundle, the manifest included.
    ``expected_hash`` is the name the bundle must have; ``where`` prefixes file names in messages.
    """
    manifest = _verified_manifest(files, where)
    if SNAPSHOT_FILE not in files:
        raise integrity("POLC704", f"`{where}/{SNAPSHOT_FILE}` is listed in the manifest but missing",
                        "the bundle is incomplete; " + REBUILD, f"{where}/{SNAPSHOT_FILE}")
    snapshot = verify_snapshot_bytes(files[SNAPSHOT_FILE], f"{where}/{SNAPSHOT_FILE}", in_bundle=True)
    digests = _check_listing(files, manifest, where)
    digest = snapshot["hash"]
    if expected_hash is not None and expected_hash != digest:
        raise integrity("POLC705", f"`{where}` should be bundle {expected_hash}, but its snapshot hashes to {digest}",
                        "a bundle is named by its content hash: it was renamed, swapped or edited; " + REBUILD, where)
    _check_policy_section(manifest, snapshot, len(files[SNAPSHOT_FILE]), where)
    _check_derived_files(files, digests, snapshot, where)
    return Bundle(snapshot, manifest, files, path)


def verify_snapshot_bytes(raw: bytes, where: str, *, in_bundle: bool = False) -> dict:
    """The parsed snapshot, after checking its bytes are canonical and hash to its ``hash``."""
    if in_bundle:
        data = parse_written(raw, where, "PolicySnapshot", "POLC702", strict_keys=False)
    else:
        data = parse_object(raw, where, "PolicySnapshot", strict_keys=False)
    stored = data.get("hash")
    if not isinstance(stored, str) or not is_full_hash(stored):
        raise integrity("POLC702", f"`{where}` has no valid `hash` field (expected 64 lowercase hex digits)",
                        REBUILD, where)
    content = _content_bytes_from_raw(raw, data)
    if content is None or sha256_hex(content) != stored:
        _check_by_reencoding(raw, data, where, stored)  # the exact path; raises on any mismatch
    if data.get("policy_id") != policy_id_for(stored):
        raise mismatch("POLC702", where, "policy_id", policy_id_for(stored), data.get("policy_id"))
    return data


# --- the manifest ---------------------------------------------------------------------------------

def _verified_manifest(files: Mapping[str, bytes], where: str) -> dict:
    raw = files.get(MANIFEST_FILE)
    path = f"{where}/{MANIFEST_FILE}"
    if raw is None:
        raise integrity("POLC704", f"bundle `{where}` has no {MANIFEST_FILE}", REBUILD, where)
    manifest = parse_written(raw, path, "manifest", "POLC703")
    check_canonical(raw, manifest, path, "POLC703")
    if manifest.get("schema_version") != MANIFEST_SCHEMA_VERSION:
        raise integrity("POLC703", f"`{path}` has schema_version {manifest.get('schema_version')!r}, not "
                                   f"`{MANIFEST_SCHEMA_VERSION}`", REBUILD, path)
    stored = manifest.get("sha256")
    if not isinstance(stored, str):
        raise integrity("POLC703", f"`{path}` has no `sha256` of its own", "the manifest was edited; " + REBUILD, path)
    actual = manifest_digest(manifest)
    if stored != actual:
        raise mismatch("POLC703", path, "manifest sha256", stored, actual)
    _check_manifest_fields(manifest, path)
    return manifest


def _check_manifest_fields(manifest: dict, path: str) -> None:
    listed = manifest.get("files")
    if not isinstance(listed, dict) or SNAPSHOT_FILE not in listed:
        raise integrity("POLC703", f"`{path}` has no `files` table listing {SNAPSHOT_FILE}", REBUILD, path)
    for name, entry in listed.items():
        if name not in BUNDLE_FILES or name == MANIFEST_FILE:
            raise integrity("POLC704", f"`{path}` lists `{name}`, which is not a bundle file "
                                       f"(expected one of {', '.join(sorted(BUNDLE_FILES - {MANIFEST_FILE}))})",
                            REBUILD, path)
        if (not isinstance(entry, dict) or set(entry) != {"sha256", "byte_size"}
                or not isinstance(entry["sha256"], str) or not is_full_hash(entry["sha256"])
                or type(entry["byte_size"]) is not int or entry["byte_size"] < 0):
            raise integrity("POLC703", f"`{path}`: the files entry of `{name}` is not "
                                       "{\"sha256\": <64 hex>, \"byte_size\": <int>}", REBUILD, path)
    state = manifest.get("rollout_state", "candidate")
    if state not in ROLLOUT_STATES:
        raise integrity("POLC703", f"`{path}` has rollout_state {state!r}; expected one of "
                                   f"{', '.join(ROLLOUT_STATES)}", REBUILD, path)
    compat = manifest.get("compatibility")
    if compat is not None and not _well_formed_compat(compat):
        raise integrity("POLC703", f"`{path}` has a malformed `compatibility` section (expected "
                                   f"{', '.join(sorted(_COMPAT_KEYS))})", REBUILD, path)


def _well_formed_compat(compat: Any) -> bool:
    if not isinstance(compat, dict) or not set(compat) <= _COMPAT_KEYS:
        return False
    features = compat.get("required_features", [])
    groups = compat.get("feature_groups", {})
    return (isinstance(features, list) and all(isinstance(f, str) for f in features)
            and isinstance(groups, dict) and all(isinstance(v, str) for v in groups.values())
            and all(compat.get(k) is None or isinstance(compat.get(k), str)
                    for k in ("snapshot_schema_version", "min_runner_version", "max_runner_version")))


def _check_listing(files: Mapping[str, bytes], manifest: dict, where: str) -> dict[str, str]:
    """Every file listed, with its size and sha256, and nothing else; returns each file's sha256
    (hashed once here: the checks after this one compare against these)."""
    listed = manifest["files"]
    digests = {}
    for name in sorted(files):
        if name != MANIFEST_FILE and name not in listed:
            raise integrity("POLC704", f"`{where}/{name}` is in the bundle but not in its manifest",
                            "a bundle is immutable; remove the stray file or " + REBUILD, f"{where}/{name}")
    for name, entry in sorted(listed.items()):
        data = files.get(name)
        if data is None:
            raise integrity("POLC704", f"`{where}/{name}` is listed in the manifest but missing",
                            "the bundle is incomplete; " + REBUILD, f"{where}/{name}")
        if len(data) != entry["byte_size"]:
            raise mismatch("POLC704", f"{where}/{name}", "byte size (manifest files entry)", entry["byte_size"],
                           len(data))
        actual = digests[name] = sha256_hex(data)
        if actual != entry["sha256"]:
            raise mismatch("POLC704", f"{where}/{name}", "sha256 (manifest files entry)", entry["sha256"], actual)
    return digests


def _check_policy_section(manifest: dict, snapshot: dict, snapshot_size: int, where: str) -> None:
    path = f"{where}/{MANIFEST_FILE}"
    policy = manifest.get("policy")
    if not isinstance(policy, dict):
        raise integrity("POLC703", f"`{path}` has no `policy` section", REBUILD, path)
    for key, expected in (("hash", snapshot["hash"]), ("policy_id", snapshot["policy_id"]),
                          ("byte_size", snapshot_size), ("created_at", snapshot.get("created_at"))):
        if policy.get(key) != expected:
            raise mismatch("POLC703", path, f"policy.{key}", expected, policy.get(key))


# --- files derived from the snapshot --------------------------------------------------------------

def _check_derived_files(files: Mapping[str, bytes], digests: Mapping[str, str], snapshot: dict,
                         where: str) -> None:
    weights = snapshot.get("policy_weights")
    if weights:
        data = files.get(WEIGHTS_FILE)
        if data is None:
            raise integrity("POLC704", f"`{where}` has no {WEIGHTS_FILE}, but its snapshot describes weights",
                            REBUILD, where)
        if len(data) != weights.get("byte_size") or digests[WEIGHTS_FILE] != weights.get("sha256"):
            raise mismatch("POLC704", f"{where}/{WEIGHTS_FILE}", "weights (the snapshot's policy_weights sha256)",
                           weights.get("sha256"), digests[WEIGHTS_FILE])
    elif WEIGHTS_FILE in files:
        raise integrity("POLC704", f"`{where}/{WEIGHTS_FILE}` is not described by the snapshot", REBUILD, where)
    _check_surface(files, snapshot, where)
    _check_delta_row(files, snapshot, where)


def _check_surface(files: Mapping[str, bytes], snapshot: dict, where: str) -> None:
    # The YAML is written from the typed surface before it becomes canonical JSON (which keeps
    # no float/int distinction or key order), so it cannot be rebuilt from the snapshot here: it
    # is bound by the manifest's sha256, and must be there exactly when the snapshot has a surface.
    present = SURFACE_FILE in files
    if present != (snapshot.get("surface") is not None):
        state = "is not described by the snapshot" if present else "is missing, but the snapshot has a surface"
        raise integrity("POLC704", f"`{where}/{SURFACE_FILE}` {state}", REBUILD, f"{where}/{SURFACE_FILE}")


def _check_delta_row(files: Mapping[str, bytes], snapshot: dict, where: str) -> None:
    data = files.get(DELTA_LOG_FILE)
    if data is None:
        return
    path = f"{where}/{DELTA_LOG_FILE}"
    if not data.endswith(b"\n") or data.count(b"\n") != 1:
        raise integrity("POLC704", f"`{path}` is not one JSON line", REBUILD, path)
    row = parse_written(data, path, "delta row", "POLC704")
    if row.get("policy_hash_after") != snapshot["hash"]:
        raise mismatch("POLC704", path, "policy_hash_after", snapshot["hash"], row.get("policy_hash_after"))


# --- the snapshot's content hash, fast ------------------------------------------------------------

def _content_bytes_from_raw(raw: bytes, data: dict) -> bytes | None:
    """The hashed content's bytes, cut out of ``raw`` by removing the identity members.

    Why this is enough: if the result hashes to ``hash``, it *is* the canonical content polc
    hashed (sha256 preimage resistance), and ``raw`` is that content plus exactly the cut
    members; each must sit at the top level, since that is where they were read from. So the
    parsed data is the content plus its identity, with no re-encoding of megabytes of JSON.
    When the cut fails or does not hash (a nested "created_at" member found first, or
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


def _check_by_reencoding(raw: bytes, data: dict, where: str, stored: str) -> None:
    try:
        full, content = _canonical_with_and_without_identity(data)
    except CanonicalError as exc:
        raise integrity("POLC702", f"`{where}`: {exc}", REBUILD, where) from None
    actual = sha256_hex(content)
    if actual != stored:
        raise mismatch("POLC702", where, "content hash", stored, actual)
    if full != raw:
        raise integrity("POLC702", f"`{where}` is not in canonical form (RFC 8785): it was edited after polc "
                                   "wrote it", REBUILD, where)


def _canonical_with_and_without_identity(data: dict) -> tuple[bytes, bytes]:
    """Canonical bytes of the whole snapshot and of its content, from one canonicalization:
    canonical JSON is compositional, so both are the same sorted members joined, with or
    without the identity members."""
    keys = sorted(data)
    if not all(key.isascii() for key in keys):  # UTF-16 key order could differ: take the plain path
        return canonical_json(data), canonical_json({k: v for k, v in data.items() if k not in UNHASHED_FIELDS})
    members = [(key, canonical_json(key) + b":" + canonical_json(data[key])) for key in keys]
    full = b"{" + b",".join(m for _, m in members) + b"}"
    content = b"{" + b",".join(m for key, m in members if key not in UNHASHED_FIELDS) + b"}"
    return full, content
