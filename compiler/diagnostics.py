"""Diagnostics: the one error type of every pass.

A diagnostic is data (code, severity, span, message, hint, notes); the text,
JSON, SARIF and GitHub forms are renderings of the same object
(``compiler.render``). Codes are stable and listed in ``compiler.codes``.

>>> d = Diagnostic.error("POLC110", "unknown key `rout`", Span("model_policy.toml", 3, 1, 3, 5),
...                      hint="did you mean `routing`?")
>>> d.location()
'model_policy.toml:3:1'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator

#: Collect at most this many diagnostics per stage; the rest become one "N more".
DIAGNOSTIC_CAP = 200


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self) -> None:
        if self.end_line == 0:
            object.__setattr__(self, "end_line", self.line)
            object.__setattr__(self, "end_column", max(self.end_column, self.column + 1))

    @classmethod
    def whole_file(cls, file: str) -> "Span":
        return cls(file, 1, 1, 1, 1)

    @classmethod
    def covering(cls, first: "Span", last: "Span") -> "Span":
        """The span from the start of ``first`` to the end of ``last`` (same file)."""
        return cls(first.file, first.line, first.column, last.end_line, last.end_column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def error(cls, code: str, message: str, span: Span | None = None, *, hint: str | None = None,
              notes: Iterable[str] = ()) -> "Diagnostic":
        return cls(code, Severity.ERROR, message, span, hint, tuple(notes))

    @classmethod
    def warning(cls, code: str, message: str, span: Span | None = None, *, hint: str | None = None,
                notes: Iterable[str] = ()) -> "Diagnostic":
        return cls(code, Severity.WARNING, message, span, hint, tuple(notes))

    @classmethod
    def info(cls, code: str, message: str, span: Span | None = None, *, hint: str | None = None,
             notes: Iterable[str] = ()) -> "Diagnostic":
        return cls(code, Severity.INFO, message, span, hint, tuple(notes))

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        return str(self.span) if self.span else "<polc>"

    def with_severity(self, severity: Severity) -> "Diagnostic":
        return replace(self, severity=severity)

    def sort_key(self) -> tuple:
        span = self.span or Span("", 0, 0, 0, 0)
        return (span.file, span.line, span.column, self.code, self.message)

    def to_json(self) -> dict:
        out: dict = {"code": self.code, "severity": self.severity.value, "message": self.message}
        if self.span is not None:
            out.update(self.span.to_json())
        if self.hint:
            out["hint"] = self.hint
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class Diagnostics:
    """A collector passes append to; caps the count so one bad file cannot flood output."""

    items: list[Diagnostic] = field(default_factory=list)
    cap: int = DIAGNOSTIC_CAP
    dropped: int = 0

    def add(self, diagnostic: Diagnostic) -> None:
        if len(self.items) < self.cap:
            self.items.append(diagnostic)
        else:
            self.dropped += 1

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for d in diagnostics:
            self.add(d)

    def error(self, code: str, message: str, span: Span | None = None, **kw) -> None:
        self.add(Diagnostic.error(code, message, span, **kw))

    def warning(self, code: str, message: str, span: Span | None = None, **kw) -> None:
        self.add(Diagnostic.warning(code, message, span, **kw))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def finish(self) -> tuple[Diagnostic, ...]:
        """The collected diagnostics sorted by location, with an "N more" note if capped."""
        out = sorted(self.items, key=Diagnostic.sort_key)
        if self.dropped:
            out.append(Diagnostic.info("POLC000", f"{self.dropped} more diagnostics not shown",
                                       hint="fix the ones above and run again"))
        return tuple(out)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``word`` for a "did you mean" hint, or None."""
    import difflib

    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    candidates = sorted(set(candidates))
    best = closest(word, candidates)
    shown = ", ".join(f"`{c}`" for c in candidates[:12])
    more = "" if len(candidates) <= 12 else f" (and {len(candidates) - 12} more)"
    if best:
        return f"did you mean `{best}`? expected one of {shown}{more}"
    return f"expected one of {shown}{more}" if candidates else None
