"""Source positions for every key and value of a TOML document.

tomlkit parses and keeps formatting, but does not record where an item stood. This
module scans the same (already validated) text once and maps each key path to the
span of its key and of its value, so every diagnostic can point at the exact place.

>>> index = index_toml("f.toml", '[routing.cloud]\\narchitect = ["a", "b"]\\n')
>>> str(index.value(("routing", "cloud", "architect", 1)))
'f.toml:2:19'
>>> str(index.key(("routing", "cloud", "architect")))
'f.toml:2:1'
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ..diagnostics import Span

Path = tuple  # tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]\}#\n\r]")


@dataclass
class TomlIndex:
    """Key and value positions by path, kept as character offsets; a Span is made only when asked for
    (a policy of 500,000 keys would otherwise allocate a million Span objects nobody reads)."""

    file: str
    line_starts: list[int] = field(default_factory=lambda: [0])
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Path, Span]] = field(default_factory=list)  # keys or tables defined twice

    def key(self, path: Path) -> Span:
        """The span of the key at ``path`` (or of its nearest enclosing key)."""
        return self._span(self._lookup(self.keys, path) or self._lookup(self.values, path))

    def value(self, path: Path) -> Span:
        """The span of the value at ``path`` (or of its nearest enclosing item)."""
        return self._span(self._lookup(self.values, path) or self._lookup(self.keys, path))

    @staticmethod
    def _lookup(table: dict[Path, tuple[int, int]], path: Path) -> tuple[int, int] | None:
        path = tuple(path)
        while path:
            if path in table:
                return table[path]
            path = path[:-1]
        return None

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def _span(self, offsets: tuple[int, int] | None) -> Span:
        if offsets is None:
            return Span.whole_file(self.file)
        start, end = offsets
        (l1, c1), (l2, c2) = self.pos(start), self.pos(max(end, start + 1))
        return Span(self.file, l1, c1, l2, c2)


def index_toml(file: str, text: str) -> TomlIndex:
    return _Scanner(file, text).run()


class _Scanner:
    def __init__(self, file: str, text: str):
        self.file, self.text, self.i = file, text, 0
        self.index = TomlIndex(file, [0] + [m.end() for m in re.finditer(r"\n", text)])
        self.table: Path = ()
        self.aot_counts: dict[Path, int] = {}
        self.defined: set[Path] = set()  # key-value paths and [table] headers seen so far

    def define(self, path: Path, offsets: tuple[int, int]) -> None:
        if path in self.defined:
            self.index.duplicates.append((path, self.index._span(offsets)))
        self.defined.add(path)

    # -- scanning -------------------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.text[self.i:self.i + n]

    def skip_ws(self, newlines: bool = False) -> None:
        text, n = self.text, len(self.text)
        while self.i < n:
            ch = text[self.i]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.i += 1
            elif ch == "#" :
                end = text.find("\n", self.i)
                self.i = n if end < 0 else (end + 1 if newlines else end)
            else:
                break

    def run(self) -> TomlIndex:
        n = len(self.text)
        while True:
            self.skip_ws(newlines=True)
            if self.i >= n:
                return self.index
            if self.peek(2) == "[[":
                self.header(array=True)
            elif self.peek() == "[":
                self.header(array=False)
            else:
                self.key_value(self.table)

    def header(self, array: bool) -> None:
        start = self.i
        self.i += 2 if array else 1
        self.skip_ws()
        keys, _ = self.dotted_key()
        self.skip_ws()
        self.i += 2 if array else 1
        header_span = (start, self.i)
        resolved: list = []
        for n, part in enumerate(keys, 1):
            resolved.append(part)
            key = tuple(resolved)
            if array and n == len(keys):
                self.aot_counts[key] = self.aot_counts.get(key, 0) + 1
                self.index.keys.setdefault(key, header_span)
            self.index.keys.setdefault(key, header_span)  # `[a.b]` also defines `a`
            if key in self.aot_counts:  # inside `[[a]]`, `[a.b]` belongs to a's last element
                resolved.append(self.aot_counts[key] - 1)
        self.table = tuple(resolved)
        if not array:
            self.define(self.table, header_span)
        self.index.keys.setdefault(self.table, header_span)
        self.index.values.setdefault(self.table, header_span)

    def dotted_key(self) -> tuple[list[str], tuple[int, int]]:
        keys, start = [], self.i
        while True:
            self.skip_ws()
            keys.append(self.simple_key())
            self.skip_ws()
            if self.peek() != ".":
                return keys, (start, self.i)
            self.i += 1

    def simple_key(self) -> str:
        ch = self.peek()
        if ch in "\"'":
            return self.string_value()
        m = _BARE_KEY.match(self.text, self.i)
        if not m:  # not reachable for text tomlkit accepted; stop scanning safely
            self.i = len(self.text)
            return ""
        self.i = m.end()
        return m.group()

    def key_value(self, base: Path) -> None:
        key_start = self.i
        keys, (_, key_end) = self.dotted_key()
        path = base + tuple(keys)
        offsets = (key_start, key_end)
        self.define(path, offsets)
        self.index.keys.setdefault(path, offsets)
        self.skip_ws()
        if self.peek() == "=":
            self.i += 1
        self.skip_ws()
        self.value(path)

    def value(self, path: Path) -> None:
        start, ch = self.i, self.peek()
        if ch == "[":
            self.array(path)
        elif ch == "{":
            self.inline_table(path)
        elif ch in "\"'":
            self.string_value()
        else:
            m = _SCALAR_END.search(self.text, self.i)
            end = m.start() if m else len(self.text)
            self.i = end
            while self.i > start and self.text[self.i - 1] in " \t":
                self.i -= 1
        self.index.values[path] = (start, self.i)

    def array(self, path: Path) -> None:
        self.i += 1
        k = 0
        while True:
            self.skip_ws(newlines=True)
            if self.peek() == "]" or self.i >= len(self.text):
                self.i += 1
                return
            if self.peek() == ",":
                self.i += 1
                continue
            self.value(path + (k,))
            k += 1

    def inline_table(self, path: Path) -> None:
        self.i += 1
        while True:
            self.skip_ws(newlines=True)
            if self.peek() == "}" or self.i >= len(self.text):
                self.i += 1
                return
            if self.peek() == ",":
                self.i += 1
                continue
            self.key_value(path)

    def string_value(self) -> str:
        text = self.text
        for quote in ('"""', "'''"):
            if text.startswith(quote, self.i):
                end = text.find(quote, self.i + 3)
                while end >= 0 and quote == '"""' and _escaped(text, end):
                    end = text.find(quote, end + 1)
                end = len(text) if end < 0 else end
                while text.startswith(quote[0], end + 3):  # up to two quotes may close the body
                    end += 1
                body = text[self.i + 3:end]
                self.i = min(len(text), end + 3)
                return body
        quote = text[self.i]
        j = self.i + 1
        while j < len(text) and text[j] != quote:
            j += 2 if (quote == '"' and text[j] == "\\") else 1
        body = text[self.i + 1:j]
        self.i = j + 1
        return _unescape(body) if quote == '"' else body


def _escaped(text: str, at: int) -> bool:
    backslashes = 0
    while at - backslashes - 1 >= 0 and text[at - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    import json

    try:
        return json.loads(f'"{body}"')
    except ValueError:
        return body
