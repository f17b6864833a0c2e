"""A bundle as an OCI artifact: the image manifest polc pushes, and the checks on one it pulls.

One layer per bundle file, in file-name order, each with its own media type and its file name
as ``org.opencontainers.image.title``; the empty config (``{}``); ``artifactType``
``application/vnd.polc.bundle.v1``; the bundle's identity as annotations. Nothing volatile goes
in (``created`` is the manifest's ``created_at``), and the bytes are canonical JSON, so the same
bundle always gives the same manifest digest.

>>> files = {"snapshot.json": b"{}", "policy.manifest.json": b"{}"}
>>> m = bundle_manifest(files, {"dev.polc.bundle.hash": "ab"})
>>> [(l["mediaType"], l["annotations"][TITLE]) for l in m["layers"]]
[('application/vnd.polc.manifest.v1+json', 'policy.manifest.json'), ('application/vnd.polc.snapshot.v1+json', 'snapshot.json')]
>>> layer_files(m, max_layer_bytes=10) == {"policy.manifest.json": m["layers"][0], "snapshot.json": m["layers"][1]}
True
"""

from __future__ import annotations

import hashlib
import json
from typing import Mapping

from .client import INDEX_TYPE, MANIFEST_TYPE
from .errors import oci_error

BUNDLE_ARTIFACT_TYPE = "application/vnd.polc.bundle.v1"
RECEIPT_ARTIFACT_TYPE = "application/vnd.polc.gate-receipt.v1"
EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
VERSION = "org.opencontainers.image.version"
BUNDLE_HASH = "dev.polc.bundle.hash"
POLICY_ID = "dev.polc.policy.id"
POLICY_NAME = "dev.polc.policy.name"
GATE = "dev.polc.gate"
VERDICT = "dev.polc.gate.verdict"

#: Media type of each bundle file; a file polc does not know yet travels as a generic polc file.
FILE_MEDIA_TYPES = {
    "snapshot.json": "application/vnd.polc.snapshot.v1+json",
    "policy.manifest.json": "application/vnd.polc.manifest.v1+json",
    "policy.surface.yaml": "application/vnd.polc.surface.v1+yaml",
    "policy.weights.bin": "application/vnd.polc.weights.v1",
    "delta_log.jsonl": "application/vnd.polc.delta-log.v1+jsonl",
}
GENERIC_FILE_TYPE = "application/vnd.polc.file.v1"


def descriptor(media_type: str, data: bytes, annotations: Mapping[str, str] | None = None) -> dict:
    out = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def empty_config() -> dict:
    return descriptor(EMPTY_CONFIG_TYPE, EMPTY_CONFIG)


def bundle_manifest(files: Mapping[str, bytes], annotations: Mapping[str, str]) -> dict:
    layers = [descriptor(FILE_MEDIA_TYPES.get(name, GENERIC_FILE_TYPE), data, {TITLE: name})
              for name, data in sorted(files.items())]
    return {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "artifactType": BUNDLE_ARTIFACT_TYPE,
            "config": empty_config(), "layers": layers, "annotations": dict(annotations)}


def bundle_annotations(bundle) -> dict[str, str]:
    """The bundle's identity, for ``polc pull`` to cross-check and for registry UIs to show."""
    out = {BUNDLE_HASH: bundle.hash, POLICY_ID: bundle.policy_id}
    created = bundle.manifest.get("policy", {}).get("created_at")
    for key, value in ((POLICY_NAME, bundle.policy_name), (VERSION, bundle.version), (CREATED, created)):
        if isinstance(value, str) and value:
            out[key] = value
    return out


def manifest_bytes(manifest: dict) -> bytes:
    from ..canonical import canonical_json

    return canonical_json(manifest)


def parse_manifest(raw: bytes, where: str, artifact_type: str = BUNDLE_ARTIFACT_TYPE) -> dict:
    """The pulled image manifest, after checking it is an artifact of ``artifact_type``."""
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _not_ours(where, f"it is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schemaVersion") != 2:
        raise _not_ours(where, "it is not an OCI manifest (schemaVersion 2)")
    if manifest.get("mediaType", MANIFEST_TYPE) != MANIFEST_TYPE:
        raise _not_ours(where, f"its media type is {manifest.get('mediaType')}, not an image manifest")
    if manifest.get("artifactType") != artifact_type:
        found = manifest.get("artifactType") or (manifest.get("config") or {}).get("mediaType")
        raise _not_ours(where, f"its artifact type is {found}, not {artifact_type}")
    if not isinstance(manifest.get("layers"), list) or not all(_is_descriptor(d) for d in manifest["layers"]):
        raise _not_ours(where, "its layers are not a list of descriptors (mediaType, sha256 digest, size)")
    return manifest


def layer_files(manifest: dict, *, max_layer_bytes: int, where: str = "the manifest") -> dict[str, dict]:
    """file name -> layer descriptor; names are plain file names, each once, each within the limit."""
    out: dict[str, dict] = {}
    for layer in manifest["layers"]:
        name = (layer.get("annotations") or {}).get(TITLE)
        if not isinstance(name, str) or not _plain_name(name):
            raise _not_ours(where, f"layer {layer['digest']} has no plain file name as {TITLE}")
        if name in out:
            raise _not_ours(where, f"two layers are titled `{name}`")
        if layer["size"] > max_layer_bytes:
            raise oci_error("POLC905", f"layer `{name}` of {where} is {layer['size']} bytes, over the limit of "
                                       f"{max_layer_bytes}", "raise the limit (--max-layer-bytes) if the bundle "
                            "is meant to be this large; nothing was downloaded")
        out[name] = layer
    return out


def index_manifest(descriptors: list[dict]) -> dict:
    return {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": descriptors}


def _is_descriptor(d) -> bool:
    return (isinstance(d, dict) and isinstance(d.get("mediaType"), str) and isinstance(d.get("size"), int)
            and not isinstance(d.get("size"), bool) and d["size"] >= 0 and isinstance(d.get("digest"), str)
            and d["digest"].startswith("sha256:") and len(d["digest"]) == 71
            and all(c in "0123456789abcdef" for c in d["digest"][7:]))


def _plain_name(name: str) -> bool:
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name and not name.startswith(".")


def _not_ours(where: str, why: str):
    return oci_error("POLC904", f"{where} is not a polc bundle artifact: {why}",
                     "pull a reference that `polc push` wrote; check the repository and tag")
