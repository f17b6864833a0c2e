"""Names typed on the command line: an unknown one is a usage error (exit 2) in every command.

A role, gate, drift rule, bundle id or prefix, stage, prompt, model or run that the policy,
the out dir or the workspace does not have is a mistake in the command, like a misspelled
flag (docs/getting-started.md, "Exit codes"). The layers below sometimes report an unknown bundle id as
"not found" (POLC707, an input that cannot be read: exit 3), because for them the id may come
from a file, such as a pin in a run's event log; where the user typed it, the CLI says so.

>>> from compiler.errors import InputError
>>> from compiler.diagnostics import Diagnostic
>>> try:
...     with typed_name():
...         raise InputError("no bundle", [Diagnostic.error("POLC707", "no bundle `abcd`")])
... except UsageError as exc:
...     print(int(exc.exit_code), exc.diagnostics[0].code)
2 POLC707
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ..errors import PolcError, UsageError

#: Codes that mean "no such name here" when the name came from the command line.
UNKNOWN_NAME_CODES = frozenset({
    "POLC266",  # no such gate or drift rule in the compiled rules
    "POLC540",  # no such model
    "POLC541",  # no such prompt
    "POLC707",  # no bundle has this id or prefix
    "POLC708",  # a prefix matches several bundles
    "POLC720",  # unknown role
    "POLC721",  # unknown gate
    "POLC732",  # unknown stage
    "POLC744",  # unknown run
    "POLC751",  # unknown run
})


@contextmanager
def typed_name() -> Iterator[None]:
    """Around the lookup of a name the user typed: an unknown name becomes a UsageError (exit 2)."""
    try:
        yield
    except UsageError:
        raise
    except PolcError as exc:
        errors = [d for d in exc.diagnostics if d.is_error]
        if errors and all(d.code in UNKNOWN_NAME_CODES for d in errors):
            raise UsageError(exc.message, exc.diagnostics, hint=exc.hint) from None
        raise
