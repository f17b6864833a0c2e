"""Blobs pulled from registries, kept on disk by digest and verified again on every read.

A router following a tag downloads only the layers it has not seen: a new policy that keeps the
weights re-downloads the snapshot and manifest, not the weights. An entry that no longer hashes
to its name (a damaged disk, an edit) is deleted and fetched again.

Layout: ``<cache>/blobs/sha256/<hex>`` (the digest is the name) and ``<cache>/bundles/<hash>/``
(bundles written from verified blobs, which the runtime loads). The default cache is
``$POLC_OCI_CACHE``, else ``$XDG_CACHE_HOME/polc/oci``, else ``~/.cache/polc/oci``.

>>> import tempfile, hashlib
>>> cache = BlobCache(tempfile.mkdtemp())
>>> digest = "sha256:" + hashlib.sha256(b"hello").hexdigest()
>>> cache.put(digest, b"hello"); cache.get(digest, 5)
b'hello'
>>> cache.get(digest, 6) is None   # the descriptor says another size: not this blob
True
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..fsutil import atomic_write_bytes
from .reference import is_digest


def default_cache_dir() -> Path:
    if os.environ.get("POLC_OCI_CACHE"):
        return Path(os.environ["POLC_OCI_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "polc" / "oci"


class BlobCache:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.hits = 0

    @property
    def bundles(self) -> Path:
        return self.root / "bundles"

    def get(self, digest: str, size: int) -> bytes | None:
        """The cached blob ``digest`` if present, ``size`` long and hashing to ``digest``; else None."""
        path = self._path(digest)
        try:
            with open(path, "rb") as fh:
                data = fh.read(size + 1)
        except OSError:
            return None
        if len(data) != size or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            self._discard(path)
            return None
        self.hits += 1
        return data

    def put(self, digest: str, data: bytes) -> None:
        """Keep a blob the caller verified; a cache that cannot be written is only a slower cache."""
        path = self._path(digest)
        if not is_digest(digest):
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        except OSError:
            pass

    def _path(self, digest: str) -> Path:
        if not is_digest(digest):  # the name becomes a path: only sha256:<64 hex> may
            return self.root / "blobs" / "invalid"
        return self.root / "blobs" / "sha256" / digest[len("sha256:"):]

    @staticmethod
    def _discard(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass
