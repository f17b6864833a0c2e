"""Route tables: for each role, the ordered candidates, computed once (on the role's first route).

A route is the cloud list in order, then the role's fallbacks in order (a model already listed
is not repeated). When reflex is enabled, the role is one of its roles (``roles = null`` means
every role) and its promotion gate is recorded as passed, the local reflex model goes first.
In shadow mode the policy's written order is kept: the reflex model, if eligible, is listed
last, marked as scored only. Because every table is a tuple built once and cached, ``route``
is a dict lookup and a branch.

>>> routing = {"cloud": {"judge": ["a", "b"]}, "fallback": {"judge": ["b", "c"]},
...            "reflex": {"enabled": True, "model": "local", "roles": None, "gate": "g"}}
>>> tables = build_tables(routing, shadow=False)
>>> [c.model for c in tables["judge"].gated], [c.model for c in tables["judge"].plain]
(['local', 'a', 'b', 'c'], ['a', 'b', 'c'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

SOURCES = ("reflex", "cloud", "fallback")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model a router may call, where it comes from in the policy, and why it is here."""

    model: str
    source: str  # "reflex" | "cloud" | "fallback"
    reason: str

    def to_json(self) -> dict:
        return {"model": self.model, "source": self.source, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class RoleTable:
    plain: tuple[Candidate, ...]   # the reflex gate is not recorded as passed
    gated: tuple[Candidate, ...]   # it is: the reflex model leads (or trails, in shadow mode)
    reflex_note: str               # why the reflex model is or is not a candidate for this role


def build_tables(routing: Mapping[str, Any], *, shadow: bool) -> dict[str, RoleTable]:
    """Every role's ``RoleTable``."""
    return {role: role_table(role, routing, shadow=shadow) for role in routing.get("cloud", {})}


def role_table(role: str, routing: Mapping, *, shadow: bool) -> RoleTable:
    """One role's table: the candidates without and with the reflex gate recorded as passed."""
    reflex = routing.get("reflex") or {}
    plain: list[Candidate] = []
    seen: set[str] = set()
    for rank, model in enumerate(routing["cloud"][role], 1):
        if model not in seen:
            seen.add(model)
            plain.append(Candidate(model, "cloud", f"routing.cloud.{role}[{rank}]"))
    for rank, model in enumerate(routing.get("fallback", {}).get(role, ()), 1):
        if model not in seen:
            seen.add(model)
            plain.append(Candidate(model, "fallback", f"routing.fallback.{role}[{rank}]: after the cloud list"))
    eligible, note = _reflex_eligibility(role, reflex)
    if not eligible:
        same = tuple(plain)  # one object: `plain is gated` tells explain_route the gate is moot
        return RoleTable(same, same, note)
    rest = [c for c in plain if c.model != reflex["model"]]
    gate = reflex.get("gate")
    if shadow:
        local = Candidate(reflex["model"], "reflex", f"reflex gate `{gate}` passed, but shadow mode "
                                                     "(POLICY_SHADOW_MODE=1): scored only, never reordered")
        return RoleTable(tuple(plain), tuple(rest) + (local,), note)
    local = Candidate(reflex["model"], "reflex", f"routing.reflex: enabled for `{role}` and gate `{gate}` "
                                                 "recorded as passed: the local model goes first")
    return RoleTable(tuple(plain), (local, *rest), note)


def _reflex_eligibility(role: str, reflex: Mapping) -> tuple[bool, str]:
    if not reflex.get("enabled"):
        return False, "routing.reflex.enabled is false"
    if not reflex.get("model"):
        return False, "routing.reflex has no model"
    roles = reflex.get("roles")
    if roles is not None and role not in roles:
        return False, f"`{role}` is not in routing.reflex.roles"
    return True, f"reflex model `{reflex['model']}` leads once gate `{reflex.get('gate')}` is recorded as passed"
