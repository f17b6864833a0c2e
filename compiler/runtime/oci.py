"""Routers loading policy from an OCI registry: ``load_snapshot("oci://HOST/REPO:TAG")`` and a
watcher that follows a tag.

    from compiler.runtime import load_oci_snapshot, OciSnapshotWatcher
    snap = load_oci_snapshot("oci://registry.internal/policies/router:prod")
    watcher = OciSnapshotWatcher("oci://registry.internal/policies/router:prod", on_refused=log)
    watcher.start(interval=30)          # a tag moved to a new digest is a new policy

Everything pulled is verified before it is used (compiler/oci/pull.py); blobs are cached on
disk by digest and checked again when read (compiler/oci/cache.py), so a tag that moves to a
bundle with the same weights downloads only what changed. The verified bundle is written
under ``<cache>/bundles/`` and loaded from there like any bundle directory.

Options, for ``load_snapshot("oci://…")`` taken from the environment: the cache directory
(``root=``, else ``$POLC_OCI_CACHE``, else ``~/.cache/polc/oci``); plain HTTP only for the hosts
listed in ``$POLC_OCI_PLAIN_HTTP`` (comma-separated ``host:port``; TLS for every other host);
credentials from ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``.

Gate receipts attached to the bundle are checked where a bundle is admitted (``polc pull
--require-receipt`` in the deploy step, or the registry's publish), not here: checking them needs
the registry's receipt code, which itself stands on the runtime.

This module imports the OCI client (``oras``, ``requests``) only when it is used.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

from ..errors import PolcError, UsageError
from .reload import Refusal, SnapshotWatcher
from .snapshot import Snapshot

DEFAULT_MAX_LAYER_BYTES = 256 * 1024 * 1024


class _Source:
    """One repository of a registry, a cache, and the checks every load makes."""

    def __init__(self, ref: str, *, plain_http: bool | None, cache_dir, docker_config, max_layer_bytes: int):
        from ..oci.cache import BlobCache, default_cache_dir
        from ..oci.client import RegistryClient
        from ..oci.reference import parse_ref

        self.ref = parse_ref(ref)
        if plain_http is None:
            plain_http = self.ref.host in {h.strip() for h in os.environ.get("POLC_OCI_PLAIN_HTTP", "").split(",")}
        self.cache = BlobCache(cache_dir if cache_dir is not None else default_cache_dir())
        self.client = RegistryClient(self.ref, plain_http=plain_http, docker_config=docker_config)
        self.max_layer_bytes = max_layer_bytes

    def current_digest(self) -> str:
        """The digest the tag names now (a digest reference names itself)."""
        if self.ref.digest:
            return self.ref.digest
        digest = self.client.head_manifest(self.ref.reference)
        if digest is None:
            from ..oci.errors import oci_error

            raise oci_error("POLC903", f"{self.ref} does not exist in the registry",
                            "check the tag; `polc push` creates it", UsageError)
        return digest

    def load(self, digest: str | None, env) -> Snapshot:
        from ..bundle import storage_lock, write_bundle
        from ..oci.pull import pull_bundle
        from .loader import load_snapshot

        ref = self.ref.at(digest) if digest else self.ref
        pulled = pull_bundle(ref, self.client, max_layer_bytes=self.max_layer_bytes, cache=self.cache)
        with storage_lock(self.cache.bundles):
            path = write_bundle(self.cache.bundles, pulled.bundle)
        return load_snapshot(path, env=env)


def load_oci_snapshot(ref: str, *, plain_http: bool | None = None, cache_dir: str | os.PathLike | None = None,
                      docker_config: str | os.PathLike | None = None, env: Mapping[str, str] | None = None,
                      max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES) -> Snapshot:
    """The verified snapshot at ``oci://HOST/REPO:TAG`` (or ``@sha256:…``).

    ``plain_http``: True for a registry without TLS (None: only the hosts in
    ``$POLC_OCI_PLAIN_HTTP``).
    """
    source = _Source(ref, plain_http=plain_http, cache_dir=cache_dir, docker_config=docker_config,
                     max_layer_bytes=max_layer_bytes)
    return source.load(None, env)


class OciSnapshotWatcher(SnapshotWatcher):
    """``SnapshotWatcher`` for a tag: ``poll()`` asks the registry which digest the tag names; a new
    digest is pulled, verified and loaded before it goes live; a failure leaves the last known
    good live and is reported (``refusals``, ``on_refused``). A refused digest is not fetched
    again until the tag moves; an unreachable registry is reported once until it answers again.
    ``start`` / ``stop`` / ``current`` are the file watcher's."""

    def __init__(self, ref: str, *, env: Mapping[str, str] | None = None,
                 on_refused: Callable[[Refusal], None] | None = None,
                 on_switch: Callable[[Snapshot, Snapshot], None] | None = None, plain_http: bool | None = None,
                 cache_dir: str | os.PathLike | None = None, docker_config: str | os.PathLike | None = None,
                 max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES):
        self._source = _Source(ref, plain_http=plain_http, cache_dir=cache_dir, docker_config=docker_config,
                               max_layer_bytes=max_layer_bytes)
        self.head = ref
        self.digest = self._source.current_digest()
        self._refused_digests: set[str] = set()
        self._unreachable: str | None = None
        # no last known good yet: errors propagate
        self._follow(self._source.load(self.digest, env), env, on_refused, on_switch)

    @property
    def ref(self):
        return self._source.ref

    def poll(self) -> bool:
        """Follow the tag; True when a new snapshot went live."""
        return self._advance(self._moved)

    def _moved(self) -> Snapshot | None:
        try:
            digest = self._source.current_digest()
        except PolcError as exc:
            if exc.message != self._unreachable:  # an unreachable registry is reported once
                self._unreachable = exc.message
                self._refuse(str(self._source.ref), exc)
            return None
        self._unreachable = None
        if digest == self.digest or digest in self._refused_digests:
            return None
        try:
            new = self._source.load(digest, self._env)
        except PolcError as exc:
            self._refused_digests.add(digest)
            self._refuse(str(self._source.ref.at(digest)), exc)
            return None
        self.digest = digest
        return new
