"""A registry server (``polc serve``) behind the same methods as ``Registry``, over httpx.

``open_registry("https://registry.example")`` returns one, so every ``polc registry`` command
works against a server with the same output. The token comes from ``token=`` or ``POLC_TOKEN``.
Answers are the same contracts responses; refusals come back as ``ErrorResponse`` and are raised
as the same ``RegistryError``\\ s, with the same exit codes. A server that cannot be reached is an
input that could not be read (exit 3).

Every mutating request carries an ``Idempotency-Key``; requests that failed because the server
was unreachable or busy (503) are retried with the same key, so a retry never applies twice.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from ..errors import ExitCode
from .config import RegistryConfig
from .errors import EXIT_CODES, RegistryError
from .scope import Scope
from .service import UNSET

#: Refusals that name something unknown on the command line: usage errors (exit 2).
USAGE_CODES = {"POLC612", "POLC616", "POLC810"}
RETRY_DELAYS = (0.2, 0.5, 1.0)
HEX = set("0123456789abcdef")


class RemoteRegistry:
    def __init__(self, url: str, config: RegistryConfig | None = None, *, token: str | None = None,
                 timeout: float = 30.0):
        import httpx

        self.url = url.rstrip("/")
        self.config = config or RegistryConfig()
        token = token or os.environ.get("POLC_TOKEN")
        headers = {"User-Agent": "polc", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token.strip()}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the same methods as Registry ------------------------------------------------------------
    def publish(self, bundle: str, receipt: dict, *, provenance: dict | None = None, submitted_by: str = "",
                bundle_version: str | None = None, policy_name: str | None = None, more_receipts=(),
                uri: str | None = None, role: str | None = None) -> dict:
        """Upload the bundle's files and publish them; the server verifies the bundle itself and
        records the authenticated principal as the submitter (``submitted_by`` is not sent)."""
        from .bundles import open_bundle_ref

        verified = open_bundle_ref(str(bundle), self.config.out_dir)  # a damaged bundle is refused here too
        files = {name: base64.b64encode(data).decode("ascii") for name, data in sorted(verified.files.items())}
        body = {"bundle_files": files, "gate_receipt": receipt, "provenance": provenance or {},
                "bundle_version": bundle_version, "policy_name": policy_name}
        if more_receipts:
            body["more_receipts"] = list(more_receipts)
        if role:
            body["role"] = role
        return self._send("POST", "/v1/bundles", body)

    def transition(self, bundle_id: str, scope, to_state: str, *, actor: str = "", role: str | None = None,
                   reason: str = "") -> dict:
        body = _with_role({"bundle_id": bundle_id, "to_state": to_state, "reason": reason}, role)
        return self._send("POST", _scope_path(scope) + "/transitions", body)

    def promote(self, bundle_id: str, scope, *, actor: str = "", role: str | None = None, reason: str = "",
                expect_active=UNSET) -> dict:
        body = _with_role({"bundle_id": bundle_id, "reason": reason}, role)
        if expect_active is not UNSET:
            body["expect_active"] = expect_active
        return self._send("POST", _scope_path(scope) + "/promote", body)

    def rollback(self, scope, *, actor: str = "", role: str | None = None, reason: str,
                 expect_active: str | None = None) -> dict:
        body = _with_role({"reason": reason}, role)
        if expect_active is not None:
            body["expect_active"] = expect_active
        return self._send("POST", _scope_path(scope) + "/rollback", body)

    def resolve(self, scope, *, pin: str | None = None) -> dict:
        return self._send("GET", _scope_path(scope) + "/active", params={"pin": pin} if pin else None)

    def pin(self, bundle_id: str, scope) -> dict:
        return self.resolve(scope, pin=bundle_id)

    def history(self, scope=None, *, bundle_id: str | None = None, limit: int | None = None,
                before: int | None = None) -> dict:
        if scope is not None:
            page = {k: v for k, v in (("limit", limit), ("before", before)) if v is not None}
            return self._send("GET", _scope_path(scope) + "/history", params=page or None)
        return self._send("GET", "/v1/history", params={"bundle": bundle_id} if bundle_id else None)

    def verify(self) -> dict:
        return self._send("GET", "/v1/verify")

    def list(self) -> dict:
        return self._send("GET", "/v1/bundles")

    def show(self, bundle_id: str) -> dict:
        """A bundle's record by id, unique prefix (the server resolves it) or local bundle directory."""
        return self._send("GET", f"/v1/bundles/{quote(self._local_hash(bundle_id), safe='')}")

    def state(self, bundle_id: str, scope) -> str:
        scope = _as_scope(scope)
        for entry in self.show(bundle_id)["states"]:
            if Scope.from_json(entry["scope"]) == scope:
                return entry["state"]
        return "candidate"

    def checkpoint(self) -> dict:
        return self._send("GET", "/v1/checkpoints/latest")

    def whoami(self) -> dict:
        return self._send("GET", "/v1/whoami")

    def bundle_id_of(self, ref: str) -> str:
        """A registered bundle's id from an id, a unique prefix (4+ hex) or a local bundle directory."""
        ref = self._local_hash(ref)
        if len(ref) == 64 and set(ref) <= HEX:
            return ref
        return self._send("GET", f"/v1/bundles/{quote(ref, safe='')}")["record"]["ref"]["bundle_id"]

    def _local_hash(self, ref: str) -> str:
        """The content hash of a local bundle directory; any other reference unchanged."""
        ref = str(ref).strip()
        if ref and Path(ref).is_dir():
            from .bundles import open_bundle_ref

            return open_bundle_ref(ref, None).hash
        return ref

    # --- transport -------------------------------------------------------------------------------
    def _send(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        import httpx

        headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
            time.sleep(delay)
            try:
                response = self._http.request(method, path, json=body, params=params, headers=headers)
            except httpx.HTTPError as exc:
                if attempt < len(RETRY_DELAYS):
                    continue
                raise RegistryError("INTERNAL", "POLC806", f"cannot reach the registry server {self.url}: {exc}",
                                    retryable=True, exit_code=ExitCode.INPUT,
                                    hint="check the URL (--registry or POLC_REGISTRY) and that `polc serve` "
                                         "runs there") from None
            if response.status_code == 503 and attempt < len(RETRY_DELAYS):
                continue
            return self._answer(response)
        raise AssertionError("unreachable")

    def _answer(self, response) -> dict:
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict):
            return data
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict) or error.get("category") not in EXIT_CODES:
            raise RegistryError("INTERNAL", "POLC807", f"the registry server answered HTTP {response.status_code} "
                                f"with something that is not a polc response", exit_code=ExitCode.INPUT,
                                hint=f"is {self.url} a `polc serve` server?")
        code = str(error.get("code", "POLC807"))
        exit_code = ExitCode.USAGE if code in USAGE_CODES else (
            ExitCode.INPUT if error["category"] == "INTERNAL" else None)
        return _raise(RegistryError(error["category"], code, str(error.get("message", "")),
                                    retryable=bool(error.get("retryable")), hint=error.get("hint"),
                                    details=error.get("details"), exit_code=exit_code))


def _raise(error: RegistryError):
    raise error


def _with_role(body: dict, role: str | None) -> dict:
    if role:
        body["role"] = role
    return body


def _as_scope(scope) -> Scope:
    return scope if isinstance(scope, Scope) else Scope.from_json(scope)


def _scope_path(scope) -> str:
    scope = _as_scope(scope)
    parts = (scope.environment, scope.tenant or "-", scope.policy_name)
    return "/v1/scopes/" + "/".join(quote(p, safe="") for p in parts)
