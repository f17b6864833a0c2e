"""The verdict of a drift review: a status and the exit code it implies.

Status is the highest severity among findings that are not accepted, where INFO findings
are notes that never raise it: ``OK`` < ``WARN`` < ``BLOCK``. ``--fail-on`` decides which
status fails (exit 1): ``block`` (default), ``warn``, or ``never``.

>>> from compiler.diff.model import Finding, Severity
>>> status_of([Finding("A", Severity.WARN, "m"), Finding("B", Severity.INFO, "m")])
'WARN'
>>> exit_code("WARN", "block"), exit_code("WARN", "warn"), exit_code("BLOCK", "never")
(0, 1, 0)
"""

from __future__ import annotations

from typing import Iterable

from .model import Finding, Severity

STATUSES = ("OK", "WARN", "BLOCK")
FAIL_ON = ("warn", "block", "never")


def status_of(findings: Iterable[Finding]) -> str:
    rank = max((f.severity.rank for f in findings if not f.accepted), default=0)
    return {0: "OK", 1: "WARN", 2: "BLOCK"}[rank]


def exit_code(status: str, fail_on: str = "block") -> int:
    if fail_on == "never":
        return 0
    threshold = Severity.WARN if fail_on == "warn" else Severity.BLOCK
    return 1 if status != "OK" and Severity(status).rank >= threshold.rank else 0
