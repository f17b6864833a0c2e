"""Registry errors: the categories of ``ErrorResponse`` (docs/registry.md), each with ``retryable``
and an exit code (docs/getting-started.md).

>>> e = RegistryError("CONFLICT", "POLC632", "scope prod/-/router is held by another bundle", retryable=True)
>>> int(e.exit_code), e.to_json()["error"]["retryable"]
(1, True)
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic
from ..errors import ExitCode, PolcError

#: category -> exit code. Conflicts and refusals (authentication and authorization included) are
#: findings (1): the request was well formed but the registry said no. An unknown bundle or scope
#: named on the command line is a usage error (2), set where the name is looked up. Payload errors
#: are usage (2) unless a file could not be read or parsed (3); a digest, signature or audit-chain
#: mismatch is integrity (4). INTERNAL means the database could not be reached or used: the store is
#: an input that could not be read (3).
EXIT_CODES: dict[str, int] = {
    "INVALID_PAYLOAD": ExitCode.USAGE,
    "UNAUTHENTICATED": ExitCode.FINDINGS,
    "GATE_NOT_PASS": ExitCode.FINDINGS,
    "CONFLICT": ExitCode.FINDINGS,
    "UNKNOWN_BUNDLE": ExitCode.USAGE,
    "FORBIDDEN": ExitCode.FINDINGS,
    "INCOMPATIBLE": ExitCode.FINDINGS,
    "INTEGRITY": ExitCode.INTEGRITY,
    "INTERNAL": ExitCode.INPUT,
}


class RegistryError(PolcError):
    """A refused registry request; ``to_json()`` is an ErrorResponse of the contracts schema."""

    def __init__(self, category: str, code: str, message: str, *, retryable: bool = False,
                 hint: str | None = None, details: dict[str, Any] | None = None, exit_code: int | None = None):
        super().__init__(message, [Diagnostic.error(code, message, hint=hint)], hint=hint)
        if category not in EXIT_CODES:
            raise ValueError(f"unknown error category {category}")
        self.category = category
        self.code = code
        self.retryable = retryable
        self.details = details or {}
        self.exit_code = ExitCode(exit_code if exit_code is not None else EXIT_CODES[category])

    def to_json(self) -> dict:
        error: dict[str, Any] = {"category": self.category, "code": self.code, "message": self.message,
                                 "retryable": self.retryable, "hint": self.hint}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(code: str, message: str, *, hint: str | None = None, unreadable: bool = False, **details) -> RegistryError:
    """An INVALID_PAYLOAD error; ``unreadable`` marks a file that could not be read or parsed (exit 3)."""
    return RegistryError("INVALID_PAYLOAD", code, message, hint=hint, details=details or None,
                         exit_code=ExitCode.INPUT if unreadable else None)
