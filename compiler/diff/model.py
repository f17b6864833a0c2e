"""The data of a drift review: changes, findings and the report that holds both.

Everything here is a frozen dataclass of plain values, so every renderer (text, json,
markdown, sarif, github) is a function of the same object.

>>> c = Change(("routing", "cloud", "judge"), "changed", ["a"], ["a", "b"], ListDelta(("b",), (), False))
>>> c.dotted, c.block
('routing.cloud.judge', 'routing')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..diagnostics import Diagnostic, Span
from ..rules.severity import Severity  # noqa: F401  (one definition; diff code names it from here)

#: The blocks changes are grouped by, in the order reports show them.
BLOCKS = ("routing", "capture", "budgets", "gates", "surface", "rules", "model_config", "weights",
          "prompts", "other")


def dotted(path: tuple) -> str:
    """``("routing", "cloud", "judge", 1)`` → ``routing.cloud.judge[1]``; odd keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if part and all(ch.isalnum() or ch in "_-" for ch in part) else _quote(part)
            out += f".{text}" if out else text
    return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def block_of(path: tuple) -> str:
    head = path[0] if path else ""
    return head if head in BLOCKS else "other"


@dataclass(frozen=True)
class ListDelta:
    """Element-level change of a list of scalars (a role's models): what came, went, moved."""

    added: tuple = ()
    removed: tuple = ()
    reordered: bool = False


@dataclass(frozen=True)
class Change:
    path: tuple
    kind: str                      # added | removed | changed
    old: Any = None
    new: Any = None
    elements: ListDelta | None = None
    span: Span | None = None       # where the change is in the NEW source, when known

    @property
    def dotted(self) -> str:
        return dotted(self.path)

    @property
    def block(self) -> str:
        return block_of(self.path)


@dataclass(frozen=True)
class Approval:
    """An accepted finding, from ``[[drift.accept]]`` of policy.toml."""

    fingerprint: str
    reason: str
    approver: str
    expires: str                   # ISO date, valid through that day (UTC)
    expired: bool = False
    span: Span | None = None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    path: tuple | None = None      # the snapshot path the finding is about, when the rule names one
    old: Any = None
    new: Any = None
    span: Span | None = None       # NEW source location (from the path), when known
    rule_span: Span | None = None  # where the rule is defined
    diagnostics: tuple[Diagnostic, ...] = ()
    approval: Approval | None = None
    subject: tuple | None = None   # the change the finding points at, when the rule names no path
    reads: frozenset = frozenset()  # snapshot paths the rule reads (to find ``subject``)

    @property
    def accepted(self) -> bool:
        return self.approval is not None and not self.approval.expired

    @property
    def fingerprint(self) -> str:
        from .approvals import fingerprint

        return fingerprint(self)


@dataclass(frozen=True)
class SideInfo:
    """How one side of the diff was obtained, for the report header."""

    label: str                     # what the user typed
    kind: str                      # snapshot | bundle | head | source | git | worktree
    hash: str | None = None
    policy_id: str | None = None
    revision: str | None = None    # the commit id, for git revisions


@dataclass(frozen=True)
class DiffReport:
    old: SideInfo
    new: SideInfo
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]
    notes: tuple[Diagnostic, ...] = field(default=())   # configuration warnings, migrations applied
    settings: Mapping[str, Any] = field(default_factory=dict)   # the [drift] section that applied
    impact: Any = None             # compiler.diff.impact_review.Impact: budget figures, replay

    @property
    def status(self) -> str:
        from .verdict import status_of

        return status_of(self.findings)
