"""Exceptions that carry diagnostics and the exit code docs/getting-started.md "Exit codes" gives them."""

from __future__ import annotations

import enum
from typing import Iterable

from .diagnostics import Diagnostic


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1   # error-level findings (diff: BLOCK)
    USAGE = 2      # bad flags or arguments
    INPUT = 3      # an input could not be read or parsed as what it claims to be
    INTEGRITY = 4  # a hash or signature does not match


class PolcError(Exception):
    """An error a command reports as diagnostics and an exit code, never a traceback."""

    exit_code = ExitCode.FINDINGS

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = (), *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.diagnostics = tuple(diagnostics)


class UsageError(PolcError):
    exit_code = ExitCode.USAGE


class InputError(PolcError):
    exit_code = ExitCode.INPUT


class IntegrityError(PolcError):
    """A stored artifact does not match its recorded hash or signature."""

    exit_code = ExitCode.INTEGRITY
