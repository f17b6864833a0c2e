"""The polc registry: publish bundles with PASS gate receipts, move them through rollout states
per scope, resolve what is live, pin, roll back, and keep a hash-chained audit log, on SQLite
or PostgreSQL (docs/registry.md).

>>> from compiler.registry import open_registry, Scope
>>> import tempfile, os
>>> reg = open_registry(os.path.join(tempfile.mkdtemp(), "registry.db"))
>>> reg.verify()["ok"]
True
>>> reg.close()
"""

from __future__ import annotations

from pathlib import Path

from .config import RegistryConfig
from .errors import RegistryError
from .scope import Scope
from .service import UNSET, Registry

__all__ = ["Registry", "RegistryConfig", "RegistryError", "Scope", "UNSET", "is_server_url", "open_registry",
           "open_store"]


def open_store(url: str | Path, *, create: bool = True):
    """A store for ``url``: ``postgresql://...``, ``sqlite:///path``, ``sqlite:path`` or a file path.

    ``create=False`` refuses a registry that does not exist yet instead of creating it (for
    commands that only read).
    """
    from .errors import invalid

    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres_store import PostgresStore

        return PostgresStore(text, create=create)
    if "://" in text and not text.startswith("sqlite://"):
        raise invalid("POLC601", f"unsupported registry URL `{text}`",
                      hint="use postgresql://user@host/db, sqlite:///path/registry.db or a file path")
    path = text[len("sqlite:///") - 1:] if text.startswith("sqlite:///") else text.removeprefix("sqlite:")
    from .sqlite_store import SqliteStore

    return SqliteStore(Path(path), create=create)


def is_server_url(url: str | None) -> bool:
    """Whether ``url`` names a registry server (``polc serve``) rather than a database."""
    return bool(url) and str(url).startswith(("http://", "https://"))


def open_registry(url: str | Path | None = None, *, config: RegistryConfig | None = None, create: bool = True,
                  token: str | None = None):
    """A Registry on ``url`` (else the configured one: POLC_REGISTRY_URL or POLC_REGISTRY, [registry] url,
    .polc/registry.db). An ``http(s)://`` URL gives a client of a ``polc serve`` server with the same
    methods (token: ``token``, else POLC_TOKEN)."""
    config = config or RegistryConfig()
    target = config.registry_url(str(url) if url else None)
    if target is None:
        from .errors import invalid

        raise invalid("POLC601", "no registry configured", hint="pass --registry URL, set POLC_REGISTRY_URL, "
                      "or run inside a polc project (default .polc/registry.db)")
    if is_server_url(target):
        from .client import RemoteRegistry

        return RemoteRegistry(target, config, token=token)
    return Registry(open_store(target, create=create), config)
