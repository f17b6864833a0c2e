"""``oci://HOST[:PORT]/REPO[:TAG|@sha256:HEX]``: where a bundle lives in an OCI registry.

The grammar is the one registries accept (a repository is lowercase path
components; a tag is up to 128 word characters, dots and dashes). No tag and no digest means
the tag ``latest``, as container tools read it.

>>> ref = parse_ref("oci://registry.example.com:5000/policies/router:2026.11")
>>> ref.host, ref.repository, ref.reference, str(ref)
('registry.example.com:5000', 'policies/router', '2026.11', 'oci://registry.example.com:5000/policies/router:2026.11')
>>> str(ref.at("sha256:" + "0" * 64)).split("@")[1][:12]
'sha256:00000'
>>> parse_ref("oci://Registry/UPPER:x")
Traceback (most recent call last):
  ...
compiler.errors.UsageError: `oci://Registry/UPPER:x` is not an OCI reference: the repository `UPPER` must be lowercase path components
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..diagnostics import Diagnostic
from ..errors import UsageError

SCHEME = "oci://"
DEFAULT_TAG = "latest"
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$")
_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_FORM = "oci://HOST[:PORT]/REPO[:TAG] or oci://HOST[:PORT]/REPO@sha256:DIGEST"


@dataclass(frozen=True)
class OciRef:
    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What the manifest endpoint is asked for: the digest when there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def at(self, digest: str) -> "OciRef":
        """The same repository, pinned to ``digest`` (a tag that moves cannot move this)."""
        return replace(self, digest=digest)

    def __str__(self) -> str:
        suffix = f"@{self.digest}" if self.digest else f":{self.tag or DEFAULT_TAG}"
        return f"{SCHEME}{self.host}/{self.repository}{suffix}"


def is_oci_ref(text: object) -> bool:
    return isinstance(text, str) and text.startswith(SCHEME)


def is_digest(text: str) -> bool:
    return bool(_DIGEST.match(text))


def parse_ref(text: str) -> OciRef:
    """The reference ``text`` names, or a UsageError (exit 2) saying which part is wrong."""
    if not is_oci_ref(text):
        raise _bad(text, f"it does not start with {SCHEME}")
    rest = text[len(SCHEME):]
    host, _, path = rest.partition("/")
    if not _HOST.match(host):
        raise _bad(text, f"`{host}` is not a registry host[:port]")
    path, _, digest = path.partition("@")
    repository, tag = path, None
    if ":" in path.rsplit("/", 1)[-1]:
        repository, _, tag = path.rpartition(":")
    if not _REPO.match(repository):
        raise _bad(text, f"the repository `{repository}` must be lowercase path components")
    if tag is not None and not _TAG.match(tag):
        raise _bad(text, f"the tag `{tag}` must be 1-128 letters, digits, `_`, `.` or `-`")
    if digest and not _DIGEST.match(digest):
        raise _bad(text, f"the digest `{digest}` must be sha256: and 64 lowercase hex digits")
    return OciRef(host, repository, tag, digest or None)


def _bad(text: str, why: str) -> UsageError:
    message = f"`{text}` is not an OCI reference: {why}"
    return UsageError(message, [Diagnostic.error("POLC900", message, hint=f"write {_FORM}")])
