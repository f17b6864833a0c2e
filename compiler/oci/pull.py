"""``polc pull`` and the runtime's OCI loader: fetch a bundle artifact and verify all of it in memory.

Nothing is written until every check passed, in this order: the manifest's bytes against its
digest (a pull by digest) or the registry's ``Docker-Content-Digest`` (a pull by tag); its
artifact type and layer list; each layer's size against the limit before it is downloaded;
each layer's bytes against its digest and size; the files as a bundle (the manifest's own
sha256, every file's sha256 and size, the snapshot's content hash); the bundle hash in the
annotations. A layer that the (hashed) bundle manifest lists with the layer's own digest is
hashed once, by the bundle check, not twice (see ``_pinned``); when that check fails, the
blob the registry altered is named. The caller then checks the receipts it requires (compiler/oci/evidence.py) and
writes the bundle: one staged directory renamed into place (compiler/bundle/disk.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from ..errors import IntegrityError, UsageError
from .artifact import BUNDLE_HASH, layer_files, parse_manifest
from ..bundle import MANIFEST_FILE, Bundle, verify_bundle_files
from .cache import BlobCache
from .client import RegistryClient
from .errors import oci_error
from .reference import OciRef

#: Refuse a layer above this size unless configured otherwise (the runtime reads no larger file).
DEFAULT_MAX_LAYER_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class PulledBundle:
    ref: OciRef                  # pinned at the manifest's digest
    digest: str
    bundle: Bundle
    downloaded: int              # blobs fetched from the registry
    cached: int                  # blobs served by the cache

    def to_json(self) -> dict:
        return {"reference": str(self.ref), "digest": self.digest, "bundle": self.bundle.hash,
                "policy_id": self.bundle.policy_id, "blobs_downloaded": self.downloaded,
                "blobs_cached": self.cached}


def pull_bundle(ref: OciRef, client: RegistryClient, *, max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES,
                cache: BlobCache | None = None) -> PulledBundle:
    """The verified bundle at ``ref``; raises before anything is written."""
    fetched = client.get_manifest(ref.reference)
    if fetched is None:
        raise oci_error("POLC903", f"{ref} does not exist in the registry",
                        "check the tag or digest (a tag is created by polc push)", UsageError)
    manifest = parse_manifest(fetched.raw, str(ref))
    layers = layer_files(manifest, max_layer_bytes=max_layer_bytes, where=str(ref))
    files: dict[str, bytes] = {}
    fetched_now: list[str] = []
    for name in sorted(layers, key=lambda n: n != MANIFEST_FILE):  # the bundle manifest first
        layer = layers[name]
        data = cache.get(layer["digest"], layer["size"]) if cache else None
        if data is None:
            data = client.get_blob(layer["digest"], layer["size"], max_layer_bytes,
                                   hashed=not _pinned(layer, name, files.get(MANIFEST_FILE)))
            fetched_now.append(name)
        files[name] = data
    # The annotation names the bundle the artifact claims to be; the bytes must be exactly that one.
    claimed = (manifest.get("annotations") or {}).get(BUNDLE_HASH)
    try:
        bundle = verify_bundle_files(files, expected_hash=claimed if isinstance(claimed, str) else None,
                                     where=str(ref))
    except IntegrityError:
        for name in fetched_now:  # name the blob the registry altered, when that is what happened
            client.check_blob(files[name], layers[name]["digest"], layers[name]["size"])
        raise
    if cache:
        for name in fetched_now:
            cache.put(layers[name]["digest"], files[name])
    return PulledBundle(ref.at(fetched.digest), fetched.digest, bundle, len(fetched_now),
                        len(layers) - len(fetched_now))


def _pinned(layer: dict, name: str, bundle_manifest: bytes | None) -> bool:
    """True when the bundle manifest (already fetched and hashed) lists ``name`` with the layer's
    digest and size: then ``verify_bundle_files``, which hashes every listed file against that
    entry, checks the layer's digest too, and hashing 10 MB of weights once more buys nothing."""
    if bundle_manifest is None or name == MANIFEST_FILE:
        return False
    try:
        entry = json.loads(bundle_manifest)["files"][name]
        return layer["digest"] == f"sha256:{entry['sha256']}" and layer["size"] == entry["byte_size"]
    except (ValueError, KeyError, TypeError):
        return False
