"""OCI diagnostics as exceptions; the exit code follows the code's class in ``compiler/codes.py``.

Decisions recorded here (docs/oci.md lists them for users): an unreachable registry and refused
credentials are inputs that could not be read (exit 3); a tag or digest that does not exist is
a name given on the command line that names nothing (usage, exit 2); bytes that do not match
their digest are an integrity failure (exit 4).

>>> err = oci_error("POLC906", "blob sha256:ab… does not match its descriptor", "push again")
>>> type(err).__name__, int(err.exit_code)
('IntegrityError', 4)
"""

from __future__ import annotations

from ..codes import CODES
from ..diagnostics import Diagnostic
from ..errors import InputError, IntegrityError, PolcError


def oci_error(code: str, message: str, hint: str, cls: type[PolcError] | None = None) -> PolcError:
    if cls is None:
        entry = CODES[code]
        cls = IntegrityError if entry.integrity else InputError if entry.input else PolcError
    return cls(message, [Diagnostic.error(code, message, hint=hint)])
