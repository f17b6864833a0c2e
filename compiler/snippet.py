"""The source excerpt under a text diagnostic, and the terminal colors it is drawn in.

>>> from compiler.diagnostics import Span
>>> print("\\n".join(snippet(Span("a.toml", 12, 8, 12, 15), "mode = \\"fulll\\"", str, Palette(False))))
   |
12 | mode = "fulll"
   |        ^^^^^^^
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from typing import IO, Callable

from .diagnostics import Severity, Span

Painter = Callable[[str], str]

_RESET = "\x1b[0m"
_CODES = {"error": "1;31", "warning": "1;33", "info": "1;36", "bold": "1"}
TAB_WIDTH = 4


@dataclass(frozen=True)
class Palette:
    """ANSI colors, or none. Off when NO_COLOR is set or the stream is not a terminal."""

    enabled: bool

    @classmethod
    def for_stream(cls, stream: IO | None, color: bool | None) -> "Palette":
        if color is not None:  # an explicit --color/--no-color wins over the environment
            return cls(color)
        if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
            return cls(False)
        if os.environ.get("FORCE_COLOR"):
            return cls(True)
        return cls(stream is not None and _isatty(stream) and os.environ.get("TERM") != "dumb")

    def paint(self, code: str, text: str) -> str:
        return f"\x1b[{_CODES[code]}m{text}{_RESET}" if self.enabled and text else text

    def bold(self, text: str) -> str:
        return self.paint("bold", text)

    def error(self, text: str) -> str:
        return self.paint("error", text)

    def severity(self, severity: Severity, text: str) -> str:
        return self.paint(severity.value, text)

    def severity_painter(self, severity: Severity) -> Painter:
        return lambda text: self.severity(severity, text)


def _isatty(stream: IO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def snippet(span: Span, line: str, paint: Painter, palette: Palette) -> list[str]:
    """Three lines: an empty gutter, the numbered source line, the caret underline.

    A span running past its first line is underlined to the end of that line. Tabs and
    wide (East Asian) characters are measured so the carets sit under the right text.
    """
    line = line.rstrip("\r\n")
    end = span.end_column if span.end_line == span.line else len(line) + 1
    start_col = min(max(span.column, 1), len(line) + 1)
    end_col = max(min(end, len(line) + 1), start_col)
    line, start_col, end_col = _window(line, start_col, end_col)
    shown = _visible(line)
    before = _width(shown[: start_col - 1])
    width = max(_width(shown[start_col - 1: end_col - 1]), 1)
    number = str(span.line)
    gutter = palette.bold(" " * len(number) + " |")
    return [gutter, f"{palette.bold(number + ' |')} {_expand(shown)}", f"{gutter} {' ' * before}{paint('^' * width)}"]


#: A source line longer than this is shown as an excerpt around the span (a generated or
#: minified line can be megabytes long).
MAX_SHOWN = 160
_CONTEXT_BEFORE = 40


def _window(line: str, start_col: int, end_col: int) -> tuple[str, int, int]:
    """(the part of ``line`` to show, and the span's columns in it), with `…` where it was cut."""
    if len(line) <= MAX_SHOWN:
        return line, start_col, end_col
    first = max(0, min(start_col - 1 - _CONTEXT_BEFORE, len(line) - MAX_SHOWN))
    last = first + MAX_SHOWN
    prefix = "…" if first > 0 else ""
    excerpt = prefix + line[first:last] + ("…" if last < len(line) else "")
    shift = len(prefix) - first
    start = start_col + shift
    return excerpt, start, max(start, min(end_col + shift, len(prefix) + MAX_SHOWN + 1))


_UNSHOWN = frozenset({"Cc", "Zl", "Zp"})  # C0/C1 controls, line and paragraph separators


def _visible(line: str) -> str:
    """Control characters (an escape sequence could rewrite the terminal) shown as U+FFFD."""
    if line.isascii() and line.isprintable():
        return line
    return "".join(c if c == "\t" or unicodedata.category(c) not in _UNSHOWN else "\ufffd" for c in line)


def safe_text(text: str) -> str:
    """``text`` (a message that may quote the policy) without terminal controls; newlines stay."""
    return "\n".join(_visible(part) for part in text.split("\n"))


def _expand(text: str) -> str:
    return text.replace("\t", " " * TAB_WIDTH)


def _width(text: str) -> int:
    total = 0
    for char in text:
        if char == "\t":
            total += TAB_WIDTH
        elif unicodedata.combining(char):
            continue
        else:
            total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total
