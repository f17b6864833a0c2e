"""Routers that follow a registry server (``polc serve``), with the standard library only.

``load_snapshot("https://registry.example/v1/scopes/prod/-/router/active")`` loads the bundle the
registry resolves for that scope now (``.../v1/bundles/<hash>`` loads that bundle). The bundle's
files are fetched by content hash, written to a local cache (``$POLC_CACHE_DIR``, else
``~/.cache/polc/bundles``) and verified exactly as a local bundle is before anything uses them.

``RegistryWatcher(url, scope)`` follows a scope with the semantics of ``SnapshotWatcher``: it
long-polls the scope's answer (``ETag`` / ``If-None-Match`` / ``wait=``), fetches and verifies a
new bundle before switching to it, keeps the last known good one when the new one is refused, and
keeps the newest signed checkpoint it saw, refusing a registry that later serves an older one.

The token comes from ``token=`` or ``$POLC_TOKEN``.

>>> parse_target("https://r.example/v1/scopes/prod/-/router/active")
('https://r.example', 'scope', 'prod/-/router')
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import InputError, PolcError
from . import checkpoint as checkpoints
from .errors import input_error, integrity_error
from ..bundle import MANIFEST_FILE, is_full_hash, verify_bundle_files, write_bundle
from .loader import load_snapshot
from .reload import Follower, Refusal
from .snapshot import Snapshot

FETCH_TIMEOUT_S = 30.0
MAX_BUNDLE_FILE_BYTES = 256 * 1024 * 1024


def parse_target(url: str) -> tuple[str, str, str]:
    """(server base URL, "scope" or "bundle", "env/tenant/policy" or the hash) of a registry URL."""
    parts = urllib.parse.urlsplit(url)
    segments = [urllib.parse.unquote(s) for s in parts.path.split("/") if s]
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    for i in range(len(segments)):
        rest = segments[i:]
        if rest[:2] == ["v1", "scopes"] and len(rest) == 6 and rest[5] == "active":
            prefix = "/".join(segments[:i])
            return base + (f"/{prefix}" if prefix else ""), "scope", "/".join(rest[2:5])
        if rest[:2] == ["v1", "bundles"] and len(rest) == 3 and is_full_hash(rest[2]):
            prefix = "/".join(segments[:i])
            return base + (f"/{prefix}" if prefix else ""), "bundle", rest[2]
    raise input_error("POLC812", f"`{url}` is not a registry URL",
                      "use https://HOST/v1/scopes/ENV/TENANT-or---/POLICY/active or https://HOST/v1/bundles/HASH")


def load_remote(url: str, *, token: str | None = None, env: Mapping[str, str] | None = None,
                cache_dir: str | os.PathLike | None = None) -> Snapshot:
    base, kind, what = parse_target(url)
    client = _Client(base, token)
    bundle_id = what if kind == "bundle" else client.active(what)[0]["active_bundle_ref"]["bundle_id"]
    return fetch_bundle(client, bundle_id, _cache(cache_dir), env)


def fetch_bundle(client: "_Client", bundle_id: str, cache: Path, env) -> Snapshot:
    """The verified snapshot of ``bundle_id``: from the cache when it verifies there, else fetched
    into memory, verified, and only then written to the cache."""
    cached = cache / bundle_id
    if cached.is_dir():
        try:
            return load_snapshot(cached, env=env)
        except PolcError:
            shutil.rmtree(cached, ignore_errors=True)  # damaged since it was cached: fetch it again
    manifest_raw = client.file(bundle_id, MANIFEST_FILE)
    try:
        listed = json.loads(manifest_raw).get("files") or {}
    except (ValueError, AttributeError):
        listed = {}  # verify_bundle_files says what is wrong with it
    files = {MANIFEST_FILE: manifest_raw}
    for name in sorted(listed):
        if "/" in name or name in ("", ".", ".."):
            raise integrity_error("POLC704", f"the manifest of bundle {bundle_id} lists `{name}`, not a file name",
                                  "the registry served a damaged bundle")
        files[name] = client.file(bundle_id, name)
    bundle = verify_bundle_files(files, expected_hash=bundle_id, where=f"{client.base}/v1/bundles/{bundle_id}")
    return load_snapshot(write_bundle(cache, bundle), env=env)  # verified before anything may use it


def _cache(cache_dir) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("POLC_CACHE_DIR"):
        return Path(os.environ["POLC_CACHE_DIR"])
    return Path.home() / ".cache" / "polc" / "bundles"


class _Client:
    def __init__(self, base: str, token: str | None):
        self.base = base.rstrip("/")
        self.token = token or os.environ.get("POLC_TOKEN")

    def get(self, path: str, *, etag: str | None = None, timeout: float = FETCH_TIMEOUT_S,
            limit: int = 16 * 1024 * 1024) -> tuple[int, bytes, Mapping[str, str]]:
        request = urllib.request.Request(self.base + path, headers={"Accept": "application/json", "User-Agent": "polc"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if etag:
            request.add_header("If-None-Match", etag)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
                data = response.read(limit + 1)
                if len(data) > limit:
                    raise input_error("POLC812", f"{self.base}{path}: the answer is larger than {limit:,} bytes",
                                      "a registry serves bundles and answers, nothing this large")
                return response.status, data, response.headers
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return 304, b"", exc.headers
            raise self._refused(path, exc) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise input_error("POLC812", f"cannot reach the registry {self.base}: {getattr(exc, 'reason', exc)}",
                              "check the URL and that `polc serve` runs there") from None

    def _refused(self, path: str, exc: urllib.error.HTTPError) -> PolcError:
        try:
            error = json.loads(exc.read(64 * 1024)).get("error") or {}
        except (ValueError, AttributeError, OSError):
            error = {}
        message = error.get("message") or f"HTTP {exc.code}"
        return input_error("POLC812", f"the registry {self.base} refused {path}: {message} "
                                      f"({error.get('code', exc.code)})",
                           error.get("hint") or "check the token (POLC_TOKEN) and the scope")

    def active(self, scope: str, *, etag: str | None = None, wait: float = 0) -> tuple[dict | None, str | None]:
        """(the scope's ResolveActiveResponse, or None when unchanged since ``etag``; its ETag)."""
        path = "/v1/scopes/" + "/".join(urllib.parse.quote(p, safe="") for p in scope.split("/")) + "/active"
        if wait:
            path += f"?wait={wait:g}"
        status, data, headers = self.get(path, etag=etag, timeout=FETCH_TIMEOUT_S + wait)
        if status == 304:
            return None, etag
        return _json(data, self.base + path), headers.get("ETag")

    def file(self, bundle_id: str, name: str) -> bytes:
        return self.get(f"/v1/bundles/{bundle_id}/files/{urllib.parse.quote(name, safe='')}",
                        limit=MAX_BUNDLE_FILE_BYTES)[1]

    def checkpoint(self) -> dict:
        return _json(self.get("/v1/checkpoints/latest")[1], self.base + "/v1/checkpoints/latest")


def _json(data: bytes, where: str) -> dict:
    try:
        value = json.loads(data)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise input_error("POLC812", f"{where} did not answer with a JSON object", "is it a `polc serve` server?")
    return value


def _scope_text(scope: Any) -> str:
    """``prod/-/router`` from that text, a ``Scope`` or a ScopeKey mapping."""
    if isinstance(scope, str):
        parts = scope.split("/")
        if len(parts) != 3 or not all(parts):
            raise input_error("POLC812", f"`{scope}` is not a scope", "write ENV/TENANT/POLICY, `-` for no tenant")
        return scope
    get = scope.get if isinstance(scope, Mapping) else lambda k: getattr(scope, k, None)
    return f"{get('environment')}/{get('tenant') or '-'}/{get('policy_name')}"


class RegistryWatcher(Follower):
    """Follow a scope of a registry server; ``current`` is the live snapshot (read it once per request).

    >>> RegistryWatcher("http://127.0.0.1:9/", "prod/-/router")    # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
      ...
    compiler.errors.InputError: cannot reach the registry http://127.0.0.1:9
    """

    _thread_name = "polc-registry-watcher"
    _join_timeout = FETCH_TIMEOUT_S + 60

    def __init__(self, url: str, scope: Any, *, token: str | None = None, env: Mapping[str, str] | None = None,
                 cache_dir: str | os.PathLike | None = None, checkpoint_key: str | os.PathLike | bytes | None = None,
                 on_refused: Callable[[Refusal], None] | None = None,
                 on_switch: Callable[[Snapshot, Snapshot], None] | None = None):
        self.url, self.scope = url.rstrip("/"), _scope_text(scope)
        self._client = _Client(self.url, token)
        self._cache = _cache(cache_dir)
        self._key = _public_key(checkpoint_key) if checkpoint_key is not None else None
        self.checkpoint: dict | None = None
        answer, self._etag = self._client.active(self.scope)
        first = fetch_bundle(self._client, answer["active_bundle_ref"]["bundle_id"], self._cache, env)
        self._check_checkpoint()  # no last known good yet: a refusal here propagates
        self._follow(first, env, on_refused, on_switch)

    def poll(self, wait: float = 0) -> bool:
        """Ask once (holding up to ``wait`` seconds for a change); True when a new snapshot went live."""
        return self._advance(lambda: self._answer(wait))

    def _answer(self, wait: float) -> Snapshot | None:
        source = f"{self.url} {self.scope}"
        try:
            answer, etag = self._client.active(self.scope, etag=self._etag, wait=wait)
        except InputError as exc:
            self._refuse(source, exc)
            return None
        if answer is None:
            return None
        try:
            new = fetch_bundle(self._client, answer["active_bundle_ref"]["bundle_id"], self._cache, self._env)
            self._check_checkpoint()
        except PolcError as exc:
            self._refuse(source, exc)
            return None
        self._etag = etag  # only once the answer was taken: a refused one is asked about again
        return new

    def start(self, wait: float = 25.0, retry_interval: float = 1.0) -> None:
        """Follow the scope in a daemon thread (long-polls of ``wait`` seconds) until ``stop()``."""
        self._start_thread(wait, retry_interval)

    def _loop(self, wait: float, retry_interval: float) -> None:
        while not self._stop.is_set():
            before = len(self.refusals)
            self.poll(wait=wait)
            if len(self.refusals) > before:
                self._stop.wait(retry_interval)  # do not hammer a registry that refuses or is down

    def _check_checkpoint(self) -> None:
        cp = self._client.checkpoint()
        if self._key is not None and not checkpoints.signature_ok(cp, self._key):
            raise integrity_error("POLC811", f"the registry's checkpoint is not signed by the configured key "
                                             f"(keyid {str(cp.get('keyid'))[:16]})",
                                  "the answer does not come from the registry whose key you configured")
        if self.checkpoint is not None and checkpoints.is_older(cp, self.checkpoint):
            raise integrity_error("POLC811", f"the registry served checkpoint {cp.get('seq')} "
                                             f"({str(cp.get('head_hash'))[:16]}), behind the newest seen, "
                                             f"{self.checkpoint['seq']} ({self.checkpoint['head_hash'][:16]}): "
                                             "its log was rewound or forked",
                                  "keep routing by the last good bundle and alert the registry's operators")
        if self.checkpoint is None or int(cp["seq"]) > int(self.checkpoint["seq"]):
            self.checkpoint = cp


def _public_key(key):
    try:
        data = key if isinstance(key, bytes) else Path(key).read_bytes()
        return checkpoints.load_public_key_pem(data)
    except (OSError, ValueError) as exc:
        raise input_error("POLC812", f"cannot load the checkpoint key {key!r}: {exc}",
                          "pass the server's checkpoint public key (PEM)") from None
