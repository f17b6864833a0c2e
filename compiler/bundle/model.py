"""``Bundle`` and ``Head``: verified, read-only views of what is stored.

A ``Bundle`` is only ever made by ``verify_bundle_files`` (which every reader goes through) or
by ``make_bundle``/``derive_bundle`` (which the writers use, and which verify what they made),
so holding one means its bytes were checked. ``files`` holds every file of the bundle, the
manifest included, exactly as stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .layout import MANIFEST_FILE, SNAPSHOT_FILE


@dataclass(frozen=True, eq=False)
class Bundle:
    snapshot: dict          # the parsed snapshot.json (treat as read-only)
    manifest: dict          # the parsed policy.manifest.json (treat as read-only)
    files: Mapping[str, bytes]
    path: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    @property
    def hash(self) -> str:
        """The content hash: the bundle's name and its ``policy_bundle_id``."""
        return self.snapshot["hash"]

    @property
    def policy_id(self) -> str:
        return self.snapshot["policy_id"]

    @property
    def created_at(self) -> str | None:
        return self.snapshot.get("created_at")

    @property
    def manifest_sha256(self) -> str:
        return self.manifest["sha256"]

    @property
    def snapshot_bytes(self) -> bytes:
        return self.files[SNAPSHOT_FILE]

    @property
    def manifest_bytes(self) -> bytes:
        return self.files[MANIFEST_FILE]

    @property
    def policy(self) -> Mapping[str, Any]:
        policy = self.manifest.get("policy")
        return policy if isinstance(policy, dict) else {}

    @property
    def version(self) -> str | None:
        return self.policy.get("version")

    @property
    def policy_name(self) -> str | None:
        return self.policy.get("name")

    @property
    def compatibility(self) -> Mapping[str, Any]:
        compat = self.manifest.get("compatibility")
        return compat if isinstance(compat, dict) else {}

    @property
    def rollout_state(self) -> str:
        return self.manifest.get("rollout_state") or "candidate"

    def content_files(self) -> dict[str, bytes]:
        """Every file but the manifest (the files the manifest lists)."""
        return {name: data for name, data in self.files.items() if name != MANIFEST_FILE}

    def at(self, path: Path | None) -> "Bundle":
        """The same verified bundle, recorded as stored at ``path``."""
        return Bundle(self.snapshot, self.manifest, self.files, path)


@dataclass(frozen=True)
class Head:
    """The head pointer ``<out>/policy.json``: which bundle is active in an out dir."""

    path: Path
    active: str
    policy_id: str
    manifest_sha256: str
    raw: bytes = field(repr=False, default=b"")

    @property
    def out_dir(self) -> Path:
        return self.path.parent
