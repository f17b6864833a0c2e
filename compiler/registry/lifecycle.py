"""The rollout state machine (docs/registry.md): states, the transitions between them and who may
perform each. Transitions are data: defaults here, overridable in policy.toml ``[registry]``.

Spec 003 names the same states differently; ``REGISTRY_STATE`` is the mapping (docs/registry.md).

>>> machine = Lifecycle.default()
>>> machine.allowed_from("candidate")
('retired', 'staged')
>>> machine.roles_for("shadow", "promoted")
('approver', 'operator')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

STATES = ("candidate", "staged", "shadow", "promoted", "rolled_back", "retired")
ROLES = ("submitter", "approver", "operator")

#: polc state -> the ``mpr_public_contracts_v0`` vocabulary (schemas/, docs/registry.md).
REGISTRY_STATE = {
    "candidate": "REGISTERED",
    "staged": "CANDIDATE",
    "shadow": "APPROVED",
    "promoted": "ACTIVE",
    "rolled_back": "ROLLED_BACK",
    "retired": "RETIRED",
}

#: Operations that are not a single transition, and the roles that may run them by default.
DEFAULT_OPERATION_ROLES = {"publish": ("submitter", "approver", "operator"), "rollback": ("approver", "operator")}


@dataclass(frozen=True, slots=True)
class Transition:
    source: str
    target: str
    roles: tuple[str, ...]


DEFAULT_TRANSITIONS = (
    Transition("candidate", "staged", ("submitter", "approver", "operator")),
    Transition("staged", "shadow", ("approver", "operator")),
    Transition("shadow", "promoted", ("approver", "operator")),
    # A promotion displaces the scope's promoted bundle to shadow: still known-good, the
    # first candidate a rollback returns to.
    Transition("promoted", "shadow", ("approver", "operator")),
    Transition("promoted", "rolled_back", ("approver", "operator")),
    Transition("rolled_back", "staged", ("approver",)),
    *(Transition(s, "retired", ("approver", "operator")) for s in STATES if s != "retired"),
)


def state_or_default(value: str | None) -> str:
    """A stored rollout_state; missing (an older record) reads as ``candidate`` (docs/registry.md).

    >>> state_or_default(None), state_or_default("Promoted"), state_or_default("RolledBack")
    ('candidate', 'promoted', 'rolled_back')
    """
    if not value:
        return "candidate"
    lowered = value.strip().replace("RolledBack", "rolled_back").lower()
    return lowered if lowered in STATES else "candidate"


@dataclass(frozen=True)
class Lifecycle:
    transitions: tuple[Transition, ...]
    operation_roles: Mapping[str, tuple[str, ...]]

    @classmethod
    def default(cls) -> "Lifecycle":
        return cls(DEFAULT_TRANSITIONS, dict(DEFAULT_OPERATION_ROLES))

    @classmethod
    def from_config(cls, transitions: Iterable[dict] | None, operations: Mapping[str, Iterable[str]] | None) -> "Lifecycle":
        """Transitions from ``[[registry.transitions]]`` (``from``, ``to``, ``roles``) replace the
        defaults when given; ``[registry.operations]`` overrides the roles of publish/rollback."""
        table = DEFAULT_TRANSITIONS
        if transitions is not None:
            table = tuple(Transition(t["from"], t["to"], tuple(t["roles"])) for t in transitions)
        ops = dict(DEFAULT_OPERATION_ROLES)
        ops.update({name: tuple(roles) for name, roles in (operations or {}).items()})
        return cls(table, ops)

    def find(self, source: str, target: str) -> Transition | None:
        return next((t for t in self.transitions if t.source == source and t.target == target), None)

    def allowed_from(self, source: str) -> tuple[str, ...]:
        return tuple(sorted({t.target for t in self.transitions if t.source == source}))

    def roles_for(self, source: str, target: str) -> tuple[str, ...]:
        found = self.find(source, target)
        return found.roles if found else ()
