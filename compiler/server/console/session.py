"""Console sessions and CSRF tokens: signed, short-lived cookies that never hold the bearer token.

A login takes a token (or an OIDC JWT) once, authenticates it exactly as the JSON API does, and
answers with a session cookie: ``base64url(JSON claims) "." base64url(HMAC-SHA256)``. The claims
name the principal, how it authenticated, the token's id (never the token), an expiry and a
random nonce. The HMAC key is derived from the server's checkpoint key, which every server
process already shares (docs/registry.md), so any process accepts a session another issued, and
nothing new is stored. A session of a polc token is re-checked against ``polc_tokens`` on every
request, so revoking (or expiry of) the token ends every session made from it at once.

>>> keys = SessionKeys(b"k" * 32)
>>> cookie = keys.seal({"p": "alice", "e": 2_000_000_000})
>>> keys.open(cookie, now=1_900_000_000)["p"]
'alice'
>>> keys.open(cookie[:-2] + "AA", now=1_900_000_000) is None
True
>>> keys.open(cookie, now=2_000_000_001) is None
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

SESSION_COOKIE = "polc_console"
CSRF_COOKIE = "polc_console_csrf"
#: How long a console session lasts at most (an OIDC session also ends when its JWT does).
SESSION_SECONDS = 8 * 3600
MAX_COOKIE_CHARS = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionKeys:
    """The HMAC keys of one server: one for sessions, one for CSRF tokens (never the same MAC twice)."""

    def __init__(self, secret: bytes):
        self._session = hmac.new(secret, b"polc-console-session/v1", hashlib.sha256).digest()
        self._csrf = hmac.new(secret, b"polc-console-csrf/v1", hashlib.sha256).digest()

    @classmethod
    def from_signing_key(cls, private_key) -> "SessionKeys":
        """Keys derived from the server's Ed25519 checkpoint key (shared by every server process)."""
        from cryptography.hazmat.primitives import serialization

        raw = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
        return cls(hashlib.sha256(b"polc-console\n" + raw).digest())

    def seal(self, claims: dict[str, Any]) -> str:
        body = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{_b64(hmac.new(self._session, body.encode('ascii'), hashlib.sha256).digest())}"

    def open(self, cookie: str | None, *, now: float) -> dict[str, Any] | None:
        """The claims of an intact, unexpired session cookie; None for anything else."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        expected = _b64(hmac.new(self._session, body.encode("ascii", "replace"), hashlib.sha256).digest())
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            claims = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("e"), (int, float)) or claims["e"] <= now:
            return None
        return claims

    def csrf_token(self, binding: str) -> str:
        """The form token bound to ``binding`` (a session's nonce, or the pre-login CSRF cookie)."""
        return _b64(hmac.new(self._csrf, binding.encode("utf-8"), hashlib.sha256).digest())

    def csrf_ok(self, binding: str | None, submitted: str | None) -> bool:
        if not binding or not submitted:
            return False
        return hmac.compare_digest(self.csrf_token(binding), submitted)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)
