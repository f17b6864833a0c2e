"""One repository of an OCI registry, spoken to through the ``oras`` SDK.

``oras.provider.Registry`` does the protocol: the docker credentials lookup (``auths`` with a
base64 ``auth``, ``credHelpers``, ``credsStore``), the bearer-token dance, blob existence
(HEAD), monolithic blob upload (POST + PUT) and blob download. This module adds what polc
needs on top, each for a reason:

* every failure becomes a diagnostic with an exit code (unreachable: 3, credentials refused:
  3, unknown tag: 2, a registry error: 3) instead of a library exception;
* requests time out, and a failed connection fails at once: the SDK's own retry sleeps up to
  two minutes, which a CLI user or a router's poll loop should not wait;
* the challenge decides the scheme: an htpasswd registry asks for Basic, a token server for
  Bearer (the SDK picks one backend up front); a push asks one token for pull and push;
* manifests travel as bytes: a pulled manifest's digest is checked against its bytes, and a
  pushed one's digest is known before the upload (referrers name it), which the SDK's
  dict-in, dict-out manifest calls cannot do;
* blobs are read with a size cap and their sha256 checked while they stream.

Credentials come from ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oras.auth
import oras.auth.utils
import oras.provider
import requests

from ..diagnostics import Diagnostic
from ..errors import InputError, PolcError, UsageError
from .errors import oci_error
from .reference import OciRef

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
#: The largest manifest registries accept; polc's are a few kilobytes.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 20
#: The SDK's ``do_request`` without its retry decorator (which sleeps 3 s to 83 s between tries).
_UNRETRIED_REQUEST = oras.provider.Registry.do_request.__wrapped__


@dataclass(frozen=True)
class Fetched:
    raw: bytes
    digest: str
    media_type: str


class _Session(requests.Session):
    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class _ChallengeAuth(oras.auth.TokenAuth):
    """Answers the challenge the registry sends: Basic (htpasswd) or Bearer (a token server)."""

    def __init__(self, actions: str):
        super().__init__()
        self._basic_auth: str | None = None
        self._actions = actions
        self._basic = False
        self._scope: str | None = None  # the scope the current token was issued for

    def preemptive_header(self) -> dict:
        # After one Basic challenge the credentials go with every request (no 401 round trip).
        return {"Authorization": f"Basic {self._basic_auth}"} if self._basic and self._basic_auth else {}

    def authenticate_request(self, original, headers, refresh=False):
        challenge = original.headers.get("Www-Authenticate", "")
        if challenge.lower().startswith("basic"):
            self._basic = True
            return {**(headers or {}), **self.preemptive_header()}, True
        if challenge.lower().startswith("bearer"):
            return self._bearer(challenge, headers or {}, refresh)
        return headers, True  # nothing to answer: the retried request's status goes to the caller

    def _bearer(self, challenge: str, headers: dict, refresh: bool):
        parsed = oras.auth.utils.parse_auth_header(challenge)
        if parsed.scope and parsed.scope.startswith("repository:"):
            name = parsed.scope.split(":")[1]
            parsed.scope = f"repository:{name}:{self._actions}"
        if refresh or not self.token or self._scope != parsed.scope:
            self.token = self.request_token(parsed)
            self._scope = parsed.scope
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers, True


class _Registry(oras.provider.Registry):
    def do_request(self, url, method="GET", data=None, headers=None, json=None, stream=False):
        headers = {**(headers or {}), **self.auth.preemptive_header()}
        return _UNRETRIED_REQUEST(self, url, method, data, headers, json, stream)


class RegistryClient:
    """Requests to ``ref``'s repository; every method raises a PolcError, never a library error."""

    def __init__(self, ref: OciRef, *, plain_http: bool = False, docker_config: str | os.PathLike | None = None,
                 timeout: float = DEFAULT_TIMEOUT, push: bool = False):
        self.ref = ref
        self.plain_http = plain_http
        self._registry = _Registry(hostname=ref.host, insecure=plain_http)
        self._registry.session = _Session(timeout)
        self._registry.auth = _ChallengeAuth("pull,push" if push else "pull")
        self._registry.auth.session = self._registry.session
        self._registry.auth.prefix = self._registry.prefix
        self._registry.auth._tls_verify = True
        self.container = self._registry.get_container(f"{ref.host}/{ref.repository}:{ref.tag or 'latest'}")
        # The SDK always merges ~/.docker/config.json in; with DOCKER_CONFIG set, docker reads only
        # that directory, so the loaded file is handed to the SDK, which then picks this host's entry.
        self._registry.auth._auth_config = read_docker_config(docker_config)
        self._registry.auth.load_configs(self.container)
        self.requests = 0

    # --- manifests ---------------------------------------------------------------------------

    def get_manifest(self, reference: str, accept: tuple[str, ...] = (MANIFEST_TYPE,), *,
                     what: str = "manifest") -> Fetched | None:
        """The manifest (or index) at ``reference``, its bytes checked against its digest; None on 404."""
        response = self._request("GET", self._url(f"manifests/{reference}"), headers={"Accept": ", ".join(accept)},
                                 stream=True)
        if response.status_code == 404:
            response.close()
            return None
        self._check(response, f"the {what} {self._at(reference)}")
        raw = _read_capped(response, MAX_MANIFEST_BYTES, f"the {what} {self._at(reference)}")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        claimed = response.headers.get("Docker-Content-Digest")
        expected = reference if reference.startswith("sha256:") else claimed
        if expected and expected != digest:
            raise oci_error("POLC906", f"the {what} {self._at(reference)} has digest {digest}, not {expected}",
                            "the registry serves bytes other than the ones pushed; push the bundle again")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Fetched(raw, digest, media_type)

    def head_manifest(self, reference: str) -> str | None:
        """The digest ``reference`` (a tag) points at now, or None when the tag does not exist."""
        response = self._request("HEAD", self._url(f"manifests/{reference}"), headers={"Accept": MANIFEST_TYPE})
        if response.status_code == 404:
            return None
        self._check(response, f"the manifest {self._at(reference)}")
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        fetched = self.get_manifest(reference)  # a registry may omit the header on HEAD
        return fetched.digest if fetched else None

    def put_manifest(self, reference: str, raw: bytes, media_type: str) -> requests.Response:
        response = self._request("PUT", self._url(f"manifests/{reference}"), data=raw,
                                 headers={"Content-Type": media_type})
        self._check(response, f"storing the manifest {self._at(reference)}", refused="POLC910")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise oci_error("POLC906", f"the registry stored the manifest as {stored}, not {digest}",
                            "the registry rewrote the manifest; polc needs a registry that stores bytes as sent")
        return response

    # --- blobs -------------------------------------------------------------------------------

    def ensure_blob(self, data: bytes, descriptor: dict, workdir: Path) -> bool:
        """Upload ``data`` unless the registry has the blob already (HEAD first); True if uploaded."""
        layer = {"digest": descriptor["digest"], "size": descriptor["size"], "mediaType": descriptor["mediaType"]}
        if self._call(lambda: self._registry.blob_exists(layer, self.container)):
            return False
        path = workdir / descriptor["digest"].replace(":", "-")
        path.write_bytes(data)  # the SDK uploads from a file
        response = self._call(lambda: self._registry.put_upload(str(path), self.container, layer))
        path.unlink()
        self._check(response, f"uploading blob {descriptor['digest']}", refused="POLC910")
        return True

    def get_blob(self, digest: str, size: int, limit: int, *, hashed: bool = True) -> bytes:
        """The blob ``digest``: at most ``limit`` bytes, exactly ``size`` long, and hashing to ``digest``
        (``hashed=False`` leaves the hash to a caller that checks these bytes' sha256 anyway)."""
        what = self.blob_name(digest)
        if size > limit:
            raise oci_error("POLC905", f"{what} is {size} bytes, over the limit of {limit}",
                            "raise the limit (--max-layer-bytes) if the bundle is meant to be this large")
        response = self._call(lambda: self._registry.get_blob(self.container, digest, stream=True))
        if response.status_code == 404:
            response.close()
            raise oci_error("POLC908", f"{what} is missing from the registry although its manifest lists it",
                            "the registry lost the blob; push the bundle again")
        self._check(response, what)
        data = _read_capped(response, size, what, integrity=True)
        if hashed or len(data) != size:
            self.check_blob(data, digest, size)
        return data

    def check_blob(self, data: bytes, digest: str, size: int) -> None:
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if len(data) != size or actual != digest:
            raise oci_error("POLC906", f"{self.blob_name(digest)} does not match its descriptor: {len(data)} bytes "
                                       f"with digest {actual}, expected {size} bytes", "the registry serves altered "
                            "bytes; nothing was written; push the bundle again from a verified copy")

    def blob_name(self, digest: str) -> str:
        return f"blob {digest} of {self.ref.host}/{self.ref.repository}"

    # --- raw requests ------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """A request to ``/v2/<repository>/<path>`` with the client's credentials (referrers API)."""
        return self._request(method, self._url(path), **kwargs)

    def read_json_body(self, response: requests.Response, what: str) -> bytes:
        """The body of a successful ``request`` (raises for an error status), at most a manifest's size."""
        self._check(response, what)
        return _read_capped(response, MAX_MANIFEST_BYTES, what)

    def _url(self, path: str) -> str:
        return f"{self._registry.prefix}://{self.ref.host}/v2/{self.ref.repository}/{path}"

    def _at(self, reference: str) -> str:
        sep = "@" if reference.startswith("sha256:") else ":"
        return f"oci://{self.ref.host}/{self.ref.repository}{sep}{reference}"

    def _request(self, method: str, url: str, **kwargs) -> requests.Response:
        return self._call(lambda: self._registry.do_request(url, method, **kwargs))

    def _call(self, fn):
        self.requests += 1
        try:
            return fn()
        except requests.exceptions.SSLError as exc:
            raise self._unreachable(f"TLS handshake failed: {_reason(exc)}", tls=True) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self._unreachable(_reason(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise oci_error("POLC908", f"a request to {self.ref.host} failed: {exc}",
                            "check the registry address") from None

    def _unreachable(self, why: str, tls: bool = False) -> PolcError:
        hint = ("a registry on plain HTTP (a local one) needs --plain-http" if tls and not self.plain_http
                else "check the host and port, and that the registry is running")
        return oci_error("POLC901", f"the registry {self.ref.host} cannot be reached: {why}", hint)

    def _check(self, response: requests.Response, what: str, refused: str = "POLC908") -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = _registry_errors(response)
        if status in (401, 403):
            raise oci_error("POLC902", f"the registry {self.ref.host} refused access to {what} ({status}{detail})",
                            "log in (docker login / oras login writes the credentials to "
                            "$DOCKER_CONFIG/config.json or ~/.docker/config.json) with an account allowed "
                            "to read (pull) or write (push) this repository")
        if status == 404:
            raise oci_error("POLC903", f"{what} does not exist ({status}{detail})",
                            "check the repository, tag or digest", UsageError)
        if status == 413:
            raise oci_error("POLC905", f"the registry refused {what} as too large ({status})",
                            "the registry's size limit is lower than the bundle")
        raise oci_error(refused, f"the registry answered {status} to {what}{detail}",
                        "see the registry's log; retry later if it is overloaded")


def read_docker_config(path: str | os.PathLike | None = None) -> dict:
    """The ``auths``, ``credHelpers`` and ``credsStore`` of the docker credentials file."""
    if path is None:
        base = os.environ.get("DOCKER_CONFIG")
        path = Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {"auths": {}, "credsStore": None, "credHelpers": {}}
    except OSError as exc:
        raise _config_error(path, exc.strerror or str(exc)) from None
    try:
        config = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _config_error(path, f"not JSON: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("auths", {}), dict):
        raise _config_error(path, "expected an object with an `auths` object")
    for host, entry in config.get("auths", {}).items():
        if isinstance(entry, dict) and entry.get("auth") and not _is_base64_pair(entry["auth"]):
            raise _config_error(path, f"the `auth` of {host} is not base64 of user:password")
    return {"auths": config.get("auths", {}), "credsStore": config.get("credsStore"),
            "credHelpers": config.get("credHelpers", {}) or {}}


def _is_base64_pair(text: Any) -> bool:
    try:
        return ":" in base64.b64decode(str(text), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False


def _config_error(path: Path, why: str) -> InputError:
    message = f"the docker credentials file {path} cannot be read: {why}"
    return InputError(message, [Diagnostic.error("POLC909", message, hint=(
        "fix or remove the file (docker login rewrites it); DOCKER_CONFIG names its directory"))])


def _read_capped(response: requests.Response, limit: int, what: str, *, integrity: bool = False) -> bytes:
    chunks, total = [], 0
    with response:
        try:
            for chunk in response.iter_content(_CHUNK):
                total += len(chunk)
                if total > limit:
                    code, hint = (("POLC906", "the registry serves more bytes than the descriptor says; "
                                   "nothing was written") if integrity else
                                  ("POLC905", "the registry serves a manifest larger than any polc writes"))
                    raise oci_error(code, f"{what} is longer than {limit} bytes", hint)
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise oci_error("POLC901", f"reading {what} failed: {_reason(exc)}",
                            "the connection broke; retry") from None
    return b"".join(chunks)


def _registry_errors(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        messages = [f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError):
        return ""
    return f"; {'; '.join(messages)}" if messages else ""


def _reason(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "WRONG_VERSION_NUMBER",
                   "certificate verify failed", "No route to host"):
        if marker in text:
            return marker.lower().replace("_", " ")
    return text[:200]
