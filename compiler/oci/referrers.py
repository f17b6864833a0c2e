"""Artifacts attached to a bundle's manifest (gate receipts), through the OCI 1.1 ``subject``.

Attaching pushes a manifest whose ``subject`` is the bundle's manifest. A registry with the
referrers API indexes it itself and says so with the ``OCI-Subject`` response header; for one
without (distribution 2.x), polc keeps the referrers-tag fallback other OCI tools read too: the tag
``sha256-<hex of the subject digest>`` holds an image index listing the referrers, which the
pusher updates. Listing asks the referrers API first and falls back to that tag on a 404.

The list is a hint, not evidence: whoever may push may edit the fallback index, so a consumer
fetches each referrer by digest and checks its subject and content (compiler/oci/evidence.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from .artifact import TITLE, descriptor, empty_config, index_manifest, manifest_bytes
from .client import INDEX_TYPE, MANIFEST_TYPE, RegistryClient
from .errors import oci_error


def fallback_tag(subject_digest: str) -> str:
    """``sha256:abc…`` -> ``sha256-abc…``: the tag that lists the referrers of a digest."""
    return subject_digest.replace(":", "-")


def attach(client: RegistryClient, subject: dict, artifact_type: str, blob: bytes, blob_type: str,
           annotations: dict[str, str], workdir: Path, *, title: str) -> tuple[str, str]:
    """Push ``blob`` as an artifact referring to ``subject``; (its manifest digest, "api" or "tag")."""
    config, layer = empty_config(), descriptor(blob_type, blob, {TITLE: title})
    client.ensure_blob(b"{}", config, workdir)
    client.ensure_blob(blob, layer, workdir)
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "artifactType": artifact_type, "config": config,
                "layers": [layer], "subject": subject, "annotations": annotations}
    raw = manifest_bytes(manifest)
    entry = {**descriptor(MANIFEST_TYPE, raw, annotations), "artifactType": artifact_type}
    response = client.put_manifest(entry["digest"], raw, MANIFEST_TYPE)
    if response.headers.get("OCI-Subject") == subject["digest"]:
        return entry["digest"], "api"
    _add_to_fallback_index(client, subject["digest"], entry)
    return entry["digest"], "tag"


def list_referrers(client: RegistryClient, subject_digest: str, artifact_type: str | None = None) -> list[dict]:
    """Descriptors of the manifests that name ``subject_digest`` as their subject."""
    query = f"?artifactType={quote(artifact_type, safe='')}" if artifact_type else ""
    what = f"the referrers of {subject_digest}"
    response = client.request("GET", f"referrers/{subject_digest}{query}", headers={"Accept": INDEX_TYPE},
                              stream=True)
    if response.status_code == 404:  # no referrers API: the registry predates OCI 1.1
        response.close()
        index = _fallback_index(client, subject_digest)
    else:
        index = _parse_index(client.read_json_body(response, what), what)
    entries = [d for d in index["manifests"] if isinstance(d, dict)]
    return [d for d in entries if artifact_type is None or d.get("artifactType") == artifact_type]


def _fallback_index(client: RegistryClient, subject_digest: str) -> dict:
    tag = fallback_tag(subject_digest)
    fetched = client.get_manifest(tag, (INDEX_TYPE,), what="referrers index")
    if fetched is None:
        return index_manifest([])
    return _parse_index(fetched.raw, f"the referrers index {tag}")


def _add_to_fallback_index(client: RegistryClient, subject_digest: str, entry: dict) -> None:
    # Read, add, write: two pushers attaching at the same instant can lose one entry (the
    # fallback has no compare-and-set); pushing the receipt again restores it.
    index = _fallback_index(client, subject_digest)
    if any(isinstance(d, dict) and d.get("digest") == entry["digest"] for d in index["manifests"]):
        return
    updated = index_manifest([*index["manifests"], entry])
    client.put_manifest(fallback_tag(subject_digest), manifest_bytes(updated), INDEX_TYPE)


def _parse_index(raw: bytes, where: str) -> dict:
    try:
        index = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        index = None
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise oci_error("POLC908", f"{where} is not an OCI image index",
                        "the registry or the referrers tag holds something else; push the receipt again")
    return index
