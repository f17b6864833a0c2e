"""The server's data functions: one per operation, plain Python, called by the JSON API
(compiler/server/api.py) and callable by any other page or script built on the same app.

Each runs in a worker thread with a registry from the pool. Mutations run in one write
transaction with their idempotency record and the checkpoint that signs the new head, so a
crash leaves all three or none.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..registry import Registry, RegistryError, Scope
from ..registry.canon import canonical_bytes, sha256_hex, utc_now
from ..registry.checkpoints import load_or_create_signing_key
from ..registry.contracts import require, respond
from ..registry.errors import invalid
from ..registry.intake import FILE_NAME, HEX64, store_uploaded_bundle
from ..runtime.checkpoint import public_keyid, sign
from .auth import Authenticator, Principal
from .config import ServerConfig
from .metrics import Metrics
from .pool import RegistryPool

IDEMPOTENCY_KEY_MAX = 200
#: Drift reviews kept per process (a review of two bundles never changes).
REVIEW_CACHE = 64


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool = False


class RegistryService:
    def __init__(self, config: ServerConfig, metrics: Metrics | None = None):
        self.config = config
        self.pool = RegistryPool(config.store, config.registry, config.pool_size)
        self.auth = Authenticator(config.oidc)
        self.metrics = metrics or Metrics()
        self.signing_key = load_or_create_signing_key(config.checkpoint_key)
        self.keyid = public_keyid(self.signing_key.public_key())
        self._reviews: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.pool.close()

    # --- the frame of every call ---------------------------------------------------------------
    def call(self, authorization: str | None, fn: Callable[[Registry, Principal], Any]) -> Any:
        """Authenticate, then ``fn(registry, principal)``, on one pooled connection."""
        with self.pool.registry() as reg:
            principal = self.auth.authenticate(authorization, reg.store)
            return fn(reg, principal)

    def mutate(self, reg: Registry, principal: Principal, key: str | None, fingerprint: str,
               fn: Callable[[Registry], tuple[int, dict]]) -> Outcome:
        """``fn`` in one write transaction with its Idempotency-Key record and a new checkpoint.

        A key already used by this principal answers with the first response and writes nothing;
        the same key with another request is refused. Refusals are not recorded: nothing was
        written, so a retry may succeed (a compare-and-set names what it expects anyway).
        """
        if key is not None and (not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable()):
            raise invalid("POLC805", f"the Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters")
        with reg.store.write() as s:
            if key is not None:
                prior = s.idempotent_response(principal.name, key)
                if prior is not None:
                    if prior[0] != fingerprint:
                        raise RegistryError("CONFLICT", "POLC804", f"Idempotency-Key `{key}` was already used with "
                                            "another request", hint="use a new key for a new request")
                    self.metrics.idempotent_replays.inc()
                    return Outcome(prior[1], json.loads(prior[2]), replayed=True)
            status, body = fn(reg)
            if key is not None:
                s.record_idempotent(principal.name, key, fingerprint, status, canonical_bytes(body).decode(), utc_now())
            self._checkpoint(s)
        return Outcome(status, body)

    # --- reads ---------------------------------------------------------------------------------
    def whoami(self, reg: Registry, principal: Principal) -> dict:
        grants = [{"roles": list(g.roles), "policy": g.policy, "environment": g.environment, "tenant": g.tenant}
                  for g in self.config.grants if g.principal == principal.name]
        return respond({"principal": principal.name, "via": principal.via, "grants": grants}, "WhoAmIResponse")

    def resolve(self, reg: Registry, scope: Scope, pin: str | None) -> dict:
        return reg.pin(pin, scope) if pin else reg.resolve(scope)

    def checkpoint(self, reg: Registry) -> dict:
        """The newest checkpoint; signs one first when the log grew past the newest signed (a
        change made with local database access, say)."""
        with reg.store.read() as s:
            head, row = s.head(), s.latest_checkpoint(self.keyid)
        if row is None or int(row[0]) < head[0]:
            with reg.store.write() as s:
                row = self._checkpoint(s)
        seq, digest, signed_at, signature = row
        return respond({"format": "polc-checkpoint/v1", "origin": self.config.origin, "seq": int(seq),
                        "head_hash": digest, "signed_at_utc": signed_at, "keyid": self.keyid,
                        "signature": signature}, "Checkpoint")

    def chain_length(self, reg: Registry) -> int:
        with reg.store.read() as s:
            return s.head()[0]

    def bundle_file(self, bundle_id: str, name: str) -> Path:
        if not HEX64.match(bundle_id) or not FILE_NAME.match(name):
            raise RegistryError("UNKNOWN_BUNDLE", "POLC612", f"no bundle file {bundle_id[:64]}/{name[:128]}")
        path = self.config.bundle_dir / bundle_id / name
        if not path.is_file():
            raise RegistryError("UNKNOWN_BUNDLE", "POLC612", f"this server stores no file {name} of bundle "
                                f"{bundle_id[:12]}", hint="bundles published to the server can be fetched; "
                                "`polc registry list` shows them")
        return path

    def stored_bundle(self, reg: Registry, bundle_id: str):
        """The verified bundle (compiler/bundle) of a registered bundle: the copy this server stores
        (``bundle_dir/<hash>``, what ``publish`` uploaded), else the directory its record's ``file:``
        URI names (a bundle published with local database access)."""
        from urllib.parse import unquote, urlsplit

        from ..registry.bundles import open_bundle_ref

        bundle_id = reg.bundle_id_of(bundle_id)
        where = self.config.bundle_dir / bundle_id
        if not where.is_dir():
            uri = urlsplit(reg.show(bundle_id)["record"]["ref"]["uri"])
            if uri.scheme != "file" or not Path(unquote(uri.path)).is_dir():
                raise RegistryError("UNKNOWN_BUNDLE", "POLC612", f"this server stores no files of bundle "
                                    f"{bundle_id[:12]}", hint="publish it through the server (`polc registry "
                                    "publish` with POLC_REGISTRY naming it) to review it here")
            where = Path(unquote(uri.path))
        bundle = open_bundle_ref(str(where), None)
        if bundle.hash != bundle_id:
            raise RegistryError("INTEGRITY", "POLC705", f"{where} holds bundle {bundle.hash[:12]}, not {bundle_id[:12]}")
        return bundle

    def review(self, reg: Registry, old_id: str, new_id: str) -> dict:
        """The drift review of two registered bundles: what ``polc diff OLD NEW`` reports for their
        bundle directories (compiler/diff), as its JSON form, with no ``[drift]`` approvals applied
        (they belong to a repository, not to the registry). Bundles never change, so a pair's
        review is computed once per process."""
        from ..diff.report_json import to_json
        from ..diff.review import review_snapshots

        old_id, new_id = reg.bundle_id_of(old_id), reg.bundle_id_of(new_id)
        key = (old_id, new_id)
        cached = self._reviews.get(key)
        if cached is not None:
            return cached
        old, new = self.stored_bundle(reg, old_id), self.stored_bundle(reg, new_id)
        labels = tuple(f"{b.version or b.hash[:12]} ({b.hash[:12]})" for b in (old, new))
        report = to_json(review_snapshots(old.snapshot, new.snapshot, labels=labels, kind="bundle"))
        with self._lock:
            self._reviews[key] = report
            while len(self._reviews) > REVIEW_CACHE:
                self._reviews.pop(next(iter(self._reviews)))
        return report

    # --- mutations (each is ``fn`` of ``mutate``) ------------------------------------------------
    def publish(self, reg: Registry, principal: Principal, body: dict, base_url: str) -> tuple[int, dict]:
        require(body, "HttpPublishRequest")
        files = {}
        for name, text in body["bundle_files"].items():
            try:
                files[name] = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise invalid("POLC801", f"bundle file `{name}` is not base64") from None
        digest = store_uploaded_bundle(files, self.config.bundle_dir)
        response = reg.publish(str(self.config.bundle_dir / digest), body["gate_receipt"],
                               provenance=body["provenance"], submitted_by=principal.name,
                               bundle_version=body.get("bundle_version"), policy_name=body.get("policy_name"),
                               more_receipts=body.get("more_receipts", ()), role=body.get("role"),
                               uri=f"{(self.config.public_url or base_url).rstrip('/')}/v1/bundles/{digest}")
        if response["status"] == "ACCEPTED":
            self.metrics.publications.inc()
        return (201 if response["status"] == "ACCEPTED" else 200), response

    def transition(self, reg: Registry, principal: Principal, scope: Scope, body: dict) -> tuple[int, dict]:
        require(body, "HttpTransitionRequest")
        response = reg.transition(body["bundle_id"], scope, body["to_state"], actor=principal.name,
                                  role=body.get("role"), reason=body.get("reason", ""))
        if response["changed"] and body["to_state"] in ("promoted", "rolled_back"):
            (self.metrics.promotions if body["to_state"] == "promoted" else self.metrics.rollbacks).inc()
        return 200, response

    def promote(self, reg: Registry, principal: Principal, scope: Scope, body: dict) -> tuple[int, dict]:
        from ..registry import UNSET

        require(body, "HttpPromoteRequest")
        response = reg.promote(body["bundle_id"], scope, actor=principal.name, role=body.get("role"),
                               reason=body.get("reason", ""), expect_active=body.get("expect_active", UNSET))
        if response["changed"]:
            self.metrics.promotions.inc()
        return 200, response

    def rollback(self, reg: Registry, principal: Principal, scope: Scope, body: dict) -> tuple[int, dict]:
        require(body, "HttpRollbackRequest")
        response = reg.rollback(scope, actor=principal.name, role=body.get("role"), reason=body["reason"],
                                expect_active=body.get("expect_active"))
        self.metrics.rollbacks.inc()
        return 200, response

    # --- helpers -------------------------------------------------------------------------------
    def _checkpoint(self, s) -> tuple:
        seq, digest = s.head()
        latest = s.latest_checkpoint(self.keyid)
        if latest is not None and int(latest[0]) >= seq:
            return latest
        signed_at = utc_now()
        cp = sign(self.signing_key, self.config.origin, seq, digest, signed_at)
        s.insert_checkpoint(seq, digest, signed_at, self.keyid, cp["signature"])
        self.metrics.chain_length.set(seq)
        return (seq, digest, signed_at, cp["signature"])


def fingerprint(method: str, path: str, body: Any) -> str:
    """What identifies a request for its Idempotency-Key: method, path and the canonical body."""
    return sha256_hex(f"{method} {path}\n".encode() + canonical_bytes(body))
