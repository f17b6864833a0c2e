"""Exceptions of the runtime. Each is a ``PolcError`` (diagnostics + exit code, docs/getting-started.md "Exit codes"),
so the CLI prints them without a traceback; lookups are also ``LookupError``s and bad amounts
``ValueError``s, so plain Python callers can catch them the usual way.

>>> err = unknown_name("role", "architekt", ["architect", "judge"])
>>> print(err.diagnostics[0].hint)
did you mean `architect`? expected one of `architect`, `judge`
"""

from __future__ import annotations

from typing import Iterable

from ..diagnostics import Diagnostic, did_you_mean
from ..errors import ExitCode, IntegrityError, InputError, PolcError, UsageError

__all__ = ["BudgetExceeded", "BudgetUsageError", "IntegrityError", "InputError", "UnknownName",
           "SnapshotVersionError", "integrity_error", "input_error", "unknown_name"]


class UnknownName(UsageError, LookupError):
    """An unknown role, gate, stage or run: the message lists the known names."""


class BudgetUsageError(UsageError, ValueError):
    """A budget operation with an amount that is not a finite, non-negative number."""


class SnapshotVersionError(InputError):
    """The snapshot was written by a newer, incompatible schema (or one no migration reads)."""


class BudgetExceeded(PolcError):
    """An operation would cross a budget; it was refused before it happened (nothing was spent).

    ``kind`` is ``"tokens"`` or ``"cost"``; ``limit``, ``spent`` and ``requested`` say by how much.
    """

    exit_code = ExitCode.FINDINGS

    def __init__(self, message: str, *, kind: str, stage: str | None, limit, spent, requested):
        super().__init__(message, [Diagnostic.error("POLC730", message, hint=(
            "the operation was not charged; lower its size, or raise the budget in model_policy.toml "
            "[budgets] and rebuild"))])
        self.kind, self.stage, self.limit, self.spent, self.requested = kind, stage, limit, spent, requested


def unknown_name(kind: str, name: str, known: Iterable[str], code: str = "POLC720") -> UnknownName:
    known = sorted(known)
    hint = did_you_mean(name, known) or f"the policy defines no {kind}s"
    message = f"unknown {kind} `{name}`"
    return UnknownName(f"{message}; known {kind}s: {', '.join(known) or '(none)'}",
                       [Diagnostic.error(code, message, hint=hint)])


def integrity_error(code: str, message: str, hint: str) -> IntegrityError:
    return IntegrityError(message, [Diagnostic.error(code, message, hint=hint)])


def input_error(code: str, message: str, hint: str, cls: type[PolcError] = InputError) -> PolcError:
    return cls(message, [Diagnostic.error(code, message, hint=hint)])
