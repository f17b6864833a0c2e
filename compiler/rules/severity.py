"""Drift severities, shared by the rules language and drift review.

>>> Severity.parse("warn").rank > Severity.INFO.rank
True
"""

from __future__ import annotations

import enum


class Severity(str, enum.Enum):
    """INFO findings are notes and never change a review's status; BLOCK fails it."""

    INFO = "INFO"
    WARN = "WARN"
    BLOCK = "BLOCK"

    @property
    def rank(self) -> int:
        return {"INFO": 0, "WARN": 1, "BLOCK": 2}[self.value]

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls(text.upper())
