"""The errors of the bundle contract: one code per kind of damage, one exit class per code.

Every consumer of bundles (runtime, diff, storage, registry, server, OCI) raises these, so a
damaged bundle is refused with the same code and exit status wherever it is read:

* ``POLC700`` the thing named does not exist or cannot be read (exit 3);
* ``POLC701`` a loose file is not valid JSON of its kind (exit 3);
* ``POLC702``-``POLC706``, ``POLC710``: a bundle or head pointer does not match its recorded
  hashes, names or listing (exit 4: integrity);
* ``POLC707``/``POLC708``: no bundle, or several, match the id given (exit 2: usage);
* ``POLC709`` the snapshot's schema version is unknown; ``POLC711`` a legacy v1 head (exit 3).

>>> err = integrity("POLC705", "x", "rebuild")
>>> type(err).__name__, err.exit_code
('IntegrityError', <ExitCode.INTEGRITY: 4>)
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..errors import InputError, IntegrityError, PolcError, UsageError

REBUILD = "rebuild the bundle with `polc build`, or restore it (`polc restore`, `polc pull`, the registry)"


def _error(cls: type[PolcError], code: str, message: str, hint: str | None, where: str | None) -> PolcError:
    # No span: the message names the file, and a bundle file is one long machine-written line that
    # a source snippet would print whole. ``where`` stays on the exception for callers.
    error = cls(message, [Diagnostic.error(code, message, hint=hint)])
    error.where = where
    return error


def integrity(code: str, message: str, hint: str = REBUILD, where: str | None = None) -> IntegrityError:
    """A stored bundle, manifest or head pointer does not match what it records (exit 4)."""
    return _error(IntegrityError, code, message, hint, where)  # type: ignore[return-value]


def unreadable(code: str, message: str, hint: str, where: str | None = None) -> InputError:
    """The thing named is missing or is not what it claims to be (exit 3)."""
    return _error(InputError, code, message, hint, where)  # type: ignore[return-value]


def usage(code: str, message: str, hint: str, notes: list[str] | None = None) -> UsageError:
    """A bundle id given by the user names no bundle, or several (exit 2)."""
    return UsageError(message, [Diagnostic.error(code, message, hint=hint, notes=notes or [])])


def mismatch(code: str, where: str, what: str, expected, actual) -> IntegrityError:
    return integrity(code, f"`{where}`: {what} mismatch: expected {expected}, found {actual}",
                     "the file was changed after polc wrote it; " + REBUILD, where)
