"""A scope: where a bundle can be live (environment, tenant, policy name).

The tenant is optional, and "no tenant" is a scope of its own: it is stored as the empty
string, which no tenant name can be (names start with a letter or digit), so a tenant-less
lookup can never match a tenant's scope by accident, nor the other way round.

>>> s = Scope("prod", "router", tenant="acme")
>>> str(s), s.key
('prod/acme/router', ('prod', 'acme', 'router'))
>>> Scope.from_json({"environment": "prod", "policy_name": "router"}).key
('prod', '', 'router')
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    environment: str
    policy_name: str
    tenant: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.environment, self.tenant or "", self.policy_name)

    @classmethod
    def from_key(cls, environment: str, tenant: str, policy_name: str) -> "Scope":
        return cls(environment, policy_name, tenant or None)

    @classmethod
    def from_json(cls, data: dict) -> "Scope":
        return cls(data["environment"], data["policy_name"], data.get("tenant") or None)

    def to_json(self) -> dict:
        out = {"environment": self.environment, "policy_name": self.policy_name}
        if self.tenant:
            out["tenant"] = self.tenant
        return out

    def __str__(self) -> str:
        return f"{self.environment}/{self.tenant or '-'}/{self.policy_name}"
