"""Who is calling: bearer tokens the registry issued, or OIDC JWTs verified against a JWKS file.

Tokens are ``polc_<id>_<secret>`` with 256 random bits of secret; the registry keeps only the
sha256 of the whole token (``polc_tokens``), so a leaked database holds no usable token. A token
is shown once, when it is created (``polc registry token create``), and may expire or be revoked.

An OIDC JWT (``[server.oidc]``) must be signed by a key of the configured JWKS file with an
asymmetric algorithm, and carry the configured issuer, audience and an expiry; its principal is
``oidc:`` + the configured claim (``sub`` by default), so a grant names it explicitly and no
token principal can be impersonated through an identity provider.

``authenticate`` is the one function the JSON API and any other page use to turn a request's
``Authorization`` header into a ``Principal``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..errors import ExitCode
from ..registry import RegistryError
from ..registry.canon import utc_now
from ..registry.store import Store
from .config import OidcConfig

TOKEN = re.compile(r"^polc_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
DURATION = re.compile(r"^(\d{1,6})([hdw])$")


@dataclass(frozen=True)
class Principal:
    name: str
    via: str            # "token" or "oidc"
    token_id: str | None = None


def unauthenticated(message: str, code: str = "POLC802") -> RegistryError:
    return RegistryError("UNAUTHENTICATED", code, message, hint="send `Authorization: Bearer <token>` "
                         "(polc: POLC_TOKEN); an administrator makes tokens with `polc registry token create`")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Authenticator:
    def __init__(self, oidc: OidcConfig | None):
        self.oidc = oidc
        self._jwks: tuple[float, object] | None = None
        self._lock = threading.Lock()

    def authenticate(self, header: str | None, store: Store) -> Principal:
        """The principal of an ``Authorization`` header, or an UNAUTHENTICATED error (401)."""
        if not header:
            raise unauthenticated("this registry needs credentials: no Authorization header")
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise unauthenticated("the Authorization header is not `Bearer <token>`")
        if credential.startswith("polc_"):
            return self._token(credential, store)
        if credential.count(".") == 2 and self.oidc is not None:
            return self._jwt(credential)
        raise unauthenticated("the bearer token is neither a polc token nor an accepted OIDC token")

    def _token(self, token: str, store: Store) -> Principal:
        if not TOKEN.match(token):
            raise unauthenticated("the polc token is malformed")
        with store.read() as s:
            row = s.token_by_digest(token_digest(token))
        if row is None:
            raise unauthenticated("unknown token")
        token_id, principal, expires_at, revoked_at = row
        if revoked_at:
            raise unauthenticated(f"token {token_id} was revoked at {revoked_at}")
        if expires_at and expires_at <= utc_now():
            raise unauthenticated(f"token {token_id} expired at {expires_at}")
        return Principal(principal, "token", token_id)

    def _jwt(self, token: str) -> Principal:
        import jwt

        oidc = self.oidc
        try:
            header = jwt.get_unverified_header(token)
            key = self._signing_key(header.get("kid"))
            claims = jwt.decode(token, key=key, algorithms=list(oidc.algorithms), audience=oidc.audience,
                                issuer=oidc.issuer, leeway=oidc.leeway_seconds,
                                options={"require": ["exp", "iss", "aud", oidc.principal_claim]})
        except jwt.PyJWTError as exc:
            raise unauthenticated(f"the OIDC token does not verify: {exc}", "POLC803") from None
        subject = claims.get(oidc.principal_claim)
        if not isinstance(subject, str) or not subject:
            raise unauthenticated(f"the OIDC token's `{oidc.principal_claim}` claim is not a string", "POLC803")
        return Principal(f"oidc:{subject}", "oidc")

    def _signing_key(self, kid: str | None):
        """The JWKS key named ``kid`` (or the only key), from the file, re-read when it changes so
        keys rotate without a restart."""
        import jwt

        path: Path = self.oidc.jwks_file
        with self._lock:
            try:
                mtime = path.stat().st_mtime_ns
                if self._jwks is None or self._jwks[0] != mtime:
                    self._jwks = (mtime, jwt.PyJWKSet.from_dict(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, jwt.PyJWTError) as exc:
                raise RegistryError("INTERNAL", "POLC800", f"cannot read the JWKS file {path}: {exc}") from None
            keys = self._jwks[1].keys
        if kid is None and len(keys) == 1:
            return keys[0].key
        for candidate in keys:
            if candidate.key_id == kid:
                return candidate.key
        raise jwt.InvalidKeyError(f"no key `{kid}` in the JWKS file")


# --- administration (local database access: polc registry token ...) ---------------------------

def parse_expiry(text: str | None) -> str | None:
    """``30d``, ``12h``, ``2w`` from now, or ``never``; the default is 90 days."""
    if text is None:
        text = "90d"
    if text == "never":
        return None
    match = DURATION.match(text)
    if not match:
        raise RegistryError("INVALID_PAYLOAD", "POLC810", f"`{text}` is not a token lifetime",
                            hint="use a number with h, d or w (12h, 30d, 2w), or `never`")
    n, unit = int(match[1]), match[2]
    delta = {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
    return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def create_token(store: Store, principal: str, *, expires: str | None = None, note: str = "") -> tuple[str, dict]:
    """A new token for ``principal``: (the token text, shown once; its record)."""
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9@._:/-]{0,199}$", principal):
        raise RegistryError("INVALID_PAYLOAD", "POLC810", f"`{principal}` is not a principal name",
                            hint="letters, digits and @ . _ : / - (up to 200)")
    token_id = secrets.token_hex(6)
    token = f"polc_{token_id}_{secrets.token_urlsafe(32)}"
    expires_at = parse_expiry(expires)
    created = utc_now()
    with store.write() as s:
        s.insert_token(token_id, principal, token_digest(token), created, expires_at, note)
    return token, {"token_id": token_id, "principal": principal, "created_at": created, "expires_at": expires_at,
                   "note": note}


def list_tokens(store: Store) -> list[dict]:
    with store.read() as s:
        rows = s.tokens()
    now = utc_now()
    return [{"token_id": t, "principal": p, "created_at": c, "expires_at": e, "revoked_at": r, "note": n,
             "status": "revoked" if r else "expired" if e and e <= now else "active"} for t, p, c, e, r, n in rows]


def revoke_token(store: Store, token_id: str) -> None:
    with store.write() as s:
        changed = s.revoke_token(token_id, utc_now())
        known = any(row[0] == token_id for row in s.tokens())
    if not changed:
        raise RegistryError("UNKNOWN_BUNDLE" if not known else "CONFLICT", "POLC810",
                            f"no active token `{token_id}`" + (" (it is already revoked)" if known else ""),
                            hint="`polc registry token list` shows the tokens",
                            exit_code=ExitCode.USAGE if not known else None)
