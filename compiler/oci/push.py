"""``polc push``: a verified bundle to ``oci://HOST/REPO:TAG``, with its receipts as referrers.

Order of work: the caller verified the bundle and checked every receipt against it before the
first byte goes out; each blob is uploaded only when the registry lacks it (HEAD first), so pushing
the same bundle again uploads nothing; the manifest goes up last (a tag never names a
manifest whose blobs are missing), and not at all when the tag names it already.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import UsageError
from .artifact import (EMPTY_CONFIG, TITLE, bundle_annotations, bundle_manifest, descriptor, empty_config,
                       manifest_bytes)
from .client import MANIFEST_TYPE, RegistryClient
from .errors import oci_error
from .evidence import Receipt, attach_receipt
from .reference import OciRef


@dataclass(frozen=True)
class PushResult:
    ref: OciRef                      # pinned at the manifest's digest
    digest: str
    size: int
    bundle_hash: str
    uploaded: tuple[str, ...]        # blob digests that went up this time
    present: tuple[str, ...]         # blob digests the registry had already
    manifest_written: bool
    receipts: tuple[dict, ...] = field(default=())

    def to_json(self) -> dict:
        return {"reference": str(self.ref), "digest": self.digest, "size": self.size, "bundle": self.bundle_hash,
                "blobs_uploaded": list(self.uploaded), "blobs_present": list(self.present),
                "manifest_written": self.manifest_written, "receipts": list(self.receipts)}


def push_bundle(bundle, ref: OciRef, client: RegistryClient, receipts: Iterable[Receipt] = ()) -> PushResult:
    """Push ``bundle`` (a verified Bundle) to ``ref``'s tag and attach ``receipts`` (checked by the
    caller against this bundle)."""
    if ref.digest:
        raise oci_error("POLC900", f"push needs a tag, not a digest: {ref}",
                        "write oci://HOST/REPO:TAG; the digest is what push prints", UsageError)
    manifest = bundle_manifest(bundle.files, bundle_annotations(bundle))
    raw = manifest_bytes(manifest)
    subject = descriptor(MANIFEST_TYPE, raw)
    uploaded, present = [], []
    with tempfile.TemporaryDirectory(prefix="polc-push-") as tmp:
        blobs = [(empty_config(), EMPTY_CONFIG)]
        blobs += [(layer, bundle.files[layer["annotations"][TITLE]]) for layer in manifest["layers"]]
        for desc, data in blobs:
            (uploaded if client.ensure_blob(data, desc, Path(tmp)) else present).append(desc["digest"])
        written = client.head_manifest(ref.reference) != subject["digest"]
        if written:
            client.put_manifest(ref.reference, raw, MANIFEST_TYPE)
        attached = []
        for receipt in receipts:
            digest, via = attach_receipt(client, subject, receipt, Path(tmp))
            attached.append({"gate": receipt.gate, "verdict": receipt.verdict, "digest": digest, "via": via})
    return PushResult(ref.at(subject["digest"]), subject["digest"], subject["size"], bundle.hash, tuple(uploaded),
                      tuple(present), written, tuple(attached))
