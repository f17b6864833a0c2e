"""``CelError``: the one exception the CEL engine raises, for syntax, type and runtime errors.

It is a :class:`compiler.errors.PolcError`, so a command that lets it escape reports it as a
diagnostic with the right exit code (3 for syntax-level codes, 1 otherwise).

>>> e = CelError("POLC200", "unexpected `)`", Span("<expr>", 1, 4), hint="remove it")
>>> e.diagnostic.location(), e.exit_code
('<expr>:1:4', <ExitCode.INPUT: 3>)
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Span
from ..errors import ExitCode, PolcError


class CelError(PolcError):
    """A CEL syntax, type or evaluation error with its code, span and hint."""

    def __init__(self, code: str, message: str, span: Span | None = None, *,
                 hint: str | None = None):
        self.code = code
        self.span = span
        diagnostic = Diagnostic.error(code, message, span, hint=hint)
        super().__init__(message, [diagnostic], hint=hint)

    @property
    def diagnostic(self) -> Diagnostic:
        return self.diagnostics[0]

    @property
    def exit_code(self) -> ExitCode:  # type: ignore[override]
        from ..codes import is_input_code  # the code table is big; a router seldom needs it

        return ExitCode.INPUT if is_input_code(self.code) else ExitCode.FINDINGS

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.code} {self.message}{hint}"
