"""The ``[registry]`` table of policy.toml, read into one frozen object.

    [registry]
    url = ".polc/registry.db"                 # or postgresql://...; POLC_REGISTRY_URL and --registry win
    default_policy = "router"                 # the policy name of scopes and bundles when not given
    trusted_keys = ["keys/gate-ci.pub"]       # Ed25519 public keys (PEM) that may sign gate receipts
    [registry.actors]                         # optional: who holds which roles (else a role is as claimed)
    alice = ["approver", "operator"]
    [[registry.transitions]]                  # optional: replaces the default transition table
    from = "candidate"
    to = "staged"
    roles = ["submitter"]
    [[registry.scopes]]                       # feature versions a scope provides, for compatibility
    environment = "prod"
    features = {atoms = "2", depth = "1"}
    runner_version = "0.1.0"                  # the runner deployed there (checked against the bundle's bounds)
    compatibility = "fail_closed"             # or "warn_only"
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .lifecycle import Lifecycle

DEFAULT_DB = ".polc/registry.db"


@dataclass(frozen=True)
class ScopeFeatures:
    environment: str
    tenant: str | None
    policy_name: str | None
    features: Mapping[str, str]
    warn_only: bool
    runner_version: str | None = None

    def matches(self, scope) -> int:
        """How specifically this entry names ``scope`` (-1: not at all)."""
        if self.environment != scope.environment:
            return -1
        if self.tenant is not None and self.tenant != scope.tenant:
            return -1
        if self.policy_name is not None and self.policy_name != scope.policy_name:
            return -1
        return (self.tenant is not None) + (self.policy_name is not None)


@dataclass(frozen=True)
class Grant:
    """Roles a principal holds, for one policy and scope (None: any). The server's configuration
    (compiler/server/config.py) lists these; the local mode uses ``[registry.actors]`` instead."""

    principal: str
    roles: tuple[str, ...]
    policy: str | None = None
    environment: str | None = None
    tenant: str | None = None

    def covers(self, principal: str, role: str, policy: str | None, scope) -> bool:
        if principal != self.principal or role not in self.roles:
            return False
        if self.policy is not None and policy != self.policy:
            return False
        if scope is None:  # publish: a policy-wide operation; a scope-limited grant still allows it
            return True
        return ((self.environment is None or self.environment == scope.environment)
                and (self.tenant is None or self.tenant == (scope.tenant or "-")))


@dataclass(frozen=True)
class RequiredGates:
    """Gates a policy's bundles must pass (a PASS receipt each) before publish and before promotion."""

    publish: tuple[str, ...] = ()
    promote: tuple[str, ...] = ()

    @property
    def any(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.publish, *self.promote)))


@dataclass(frozen=True)
class RegistryConfig:
    root: Path | None = None
    url: str | None = None
    default_policy: str = "default"
    trusted_keys: tuple[Path, ...] = ()
    actors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    lifecycle: Lifecycle = field(default_factory=Lifecycle.default)
    scopes: tuple[ScopeFeatures, ...] = ()
    out_dir: Path | None = None
    #: Server only: per-policy, per-scope roles of authenticated principals (replaces ``actors``).
    grants: tuple[Grant, ...] | None = None
    #: policy name (or "*") -> the gates it must pass; empty: any PASS receipt admits a bundle.
    required_gates: Mapping[str, RequiredGates] = field(default_factory=dict)
    #: Server only: refuse receipts that no trusted key signed, even with no keys configured.
    require_signed_receipts: bool = False

    def gates_for(self, policy: str) -> RequiredGates:
        return self.required_gates.get(policy) or self.required_gates.get("*") or RequiredGates()

    @classmethod
    def from_project(cls, project) -> "RegistryConfig":
        section: dict[str, Any] = project.section("registry")
        name = project.section("project").get("name")
        keys = tuple(_in_project(project.root, k) for k in section.get("trusted_keys", []))
        scopes = tuple(ScopeFeatures(s["environment"], s.get("tenant"), s.get("policy"),
                                     {k: str(v) for k, v in s.get("features", {}).items()},
                                     s.get("compatibility", "fail_closed") == "warn_only", s.get("runner_version"))
                       for s in section.get("scopes", []))
        lifecycle = Lifecycle.from_config(section.get("transitions"), section.get("operations"))
        try:
            out_dir = project.out_dir
        except Exception:  # a bad out_dir is polc build's to report, not the registry's
            out_dir = None
        return cls(project.root, section.get("url"), section.get("default_policy") or _slug(name) or "default",
                   keys, {k: tuple(v) for k, v in section.get("actors", {}).items()}, lifecycle, scopes, out_dir)

    def registry_url(self, override: str | None = None) -> str | None:
        """--registry, then POLC_REGISTRY_URL (or POLC_REGISTRY), then [registry] url, then .polc/registry.db."""
        url = override or os.environ.get("POLC_REGISTRY_URL") or os.environ.get("POLC_REGISTRY")
        if url:
            return url
        if self.url and self.root and "://" not in self.url:
            # A path in policy.toml is relative to policy.toml, not to where polc runs.
            return str(self.root / self.url.removeprefix("sqlite:"))
        if self.url:
            return self.url
        return str(self.root / DEFAULT_DB) if self.root else None

    def scope_features(self, scope) -> ScopeFeatures | None:
        ranked = [(entry.matches(scope), i, entry) for i, entry in enumerate(self.scopes)]
        ranked = [r for r in ranked if r[0] >= 0]
        return max(ranked, key=lambda r: (r[0], -r[1]))[2] if ranked else None


def _in_project(root: Path, name: str) -> Path:
    from ..sources import resolve_in_project

    return resolve_in_project(root, name)


def _slug(name: str | None) -> str | None:
    if not name:
        return None
    import re

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return slug[:128] or None
