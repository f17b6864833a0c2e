"""Bundle intake: the registry reads bundles only through the bundle package (``compiler.bundle``),
so it refuses exactly the bundles the runtime and ``polc diff`` refuse, with the same codes;
here those refusals become the contracts' ``ErrorResponse`` categories.

A damaged bundle is ``INTEGRITY`` (exit 4), one that cannot be found or read is
``INVALID_PAYLOAD`` marked unreadable (exit 3), an unknown id given by the user is
``INVALID_PAYLOAD`` (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from ..bundle import Bundle, open_ref
from ..errors import ExitCode, IntegrityError, PolcError, UsageError
from .errors import RegistryError


def open_bundle_ref(ref: str, out_dir: Path | None) -> Bundle:
    """The verified bundle ``ref`` names (a bundle directory, a head pointer, a hash or prefix)."""
    try:
        return open_ref(ref, out_dir)
    except PolcError as exc:
        raise as_registry_error(exc) from None


def as_registry_error(exc: PolcError) -> RegistryError:
    diagnostic = exc.diagnostics[0] if exc.diagnostics else None
    code = diagnostic.code if diagnostic else "POLC700"
    hint = diagnostic.hint if diagnostic else exc.hint
    if isinstance(exc, IntegrityError):
        return RegistryError("INTEGRITY", code, exc.message, hint=hint)
    exit_code = ExitCode.USAGE if isinstance(exc, UsageError) else ExitCode.INPUT
    return RegistryError("INVALID_PAYLOAD", code, exc.message, hint=hint, exit_code=exit_code)
