"""Canonical formatting of TOML policy sources, comments kept.

The layout rules: ``key = value`` with single spaces around ``=``; table headers written
``[a.b]`` with one blank line before them (comments directly above a header stay attached
to it); at most one blank line in a row; no trailing whitespace; two spaces before an
end-of-line comment; one final newline. Values, including multi-line arrays and strings,
are kept as written. The result must parse to exactly the same data as the input, or the
file is left alone and an error is reported — formatting never changes meaning.

>>> format_toml('[routing.cloud]\\narchitect=["a"]   # first\\n\\n\\n[ capture ]\\nmode="none"\\n')
'[routing.cloud]\\narchitect = ["a"]  # first\\n\\n[capture]\\nmode = "none"\\n'
"""

from __future__ import annotations

import re

_KEY_VALUE = re.compile(r'^(\s*)((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\'))*)\s*=\s*(.*)$')
_HEADER = re.compile(r"^\s*(\[\[?)\s*(.*?)\s*(\]\]?)\s*(#.*)?$")


class FormatError(ValueError):
    pass


def format_toml(text: str) -> str:
    import tomlkit

    lines = _format_lines(text.replace("\r\n", "\n").split("\n"))
    out = "\n".join(lines).strip("\n") + "\n"
    if tomlkit.parse(out).unwrap() != tomlkit.parse(text).unwrap():  # never change meaning
        raise FormatError("formatting would change the parsed data; file left unchanged")
    return out


def _format_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    state = _Scan()
    for raw in lines:
        line = raw.rstrip()
        if state.inside():  # continuation of a multi-line value: keep verbatim
            out.append(line if not state.in_string else raw)
            state.feed(raw)
            continue
        stripped = line.strip()
        if not stripped:
            if out and out[-1] != "":
                out.append("")
            continue
        header = _HEADER.match(line) if stripped.startswith("[") else None
        if header:
            _blank_line_before_header(out)
            name = re.sub(r"\s*\.\s*", ".", header.group(2))
            out.append(f"{header.group(1)}{name}{header.group(3)}{_comment(header.group(4))}")
            continue
        kv = _KEY_VALUE.match(raw)
        if kv and not stripped.startswith("#"):
            key = re.sub(r"\s*\.\s*", ".", kv.group(2))
            state.feed(kv.group(3))
            if state.in_string:  # a multi-line string starts here: its first line is content
                out.append(f"{key} = {kv.group(3)}")
                continue
            value, comment = _split_comment(kv.group(3).rstrip())
            out.append(f"{key} = {value}{_comment(comment)}")
            continue
        out.append(stripped if stripped.startswith("#") else line)
        state.feed(line)
    return out


def _blank_line_before_header(out: list[str]) -> None:
    """One blank line before a header, above any comment block that belongs to it."""
    i = len(out)
    while i > 0 and out[i - 1].startswith("#"):
        i -= 1
    if i > 0 and out[i - 1] != "":
        out.insert(i, "")


def _comment(comment: str | None) -> str:
    return f"  {comment.strip()}" if comment else ""


def _split_comment(value: str) -> tuple[str, str | None]:
    """Split ``value  # comment`` outside strings."""
    quote = None
    i = 0
    while i < len(value):
        ch = value[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if value.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif value.startswith(('"""', "'''"), i):
            quote = value[i:i + 3]
            i += 3
            continue
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return value[:i].rstrip(), value[i:]
        i += 1
    return value.rstrip(), None


class _Scan:
    """Tracks open brackets and multi-line strings across lines."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string: str | None = None

    def inside(self) -> bool:
        return self.depth > 0 or self.in_string is not None

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            if self.in_string:
                if self.in_string == '"""' and text[i] == "\\":
                    i += 2
                    continue
                if text.startswith(self.in_string, i):
                    i += 3
                    self.in_string = None
                    continue
                i += 1
                continue
            ch = text[i]
            if text.startswith(('"""', "'''"), i):
                self.in_string = text[i:i + 3]
                i += 3
                continue
            if ch in "\"'":
                end = _string_end(text, i)
                i = end
                continue
            if ch == "#":
                return
            if ch in "[{":
                self.depth += 1
            elif ch in "]}":
                self.depth = max(0, self.depth - 1)
            i += 1


def _string_end(text: str, start: int) -> int:
    quote = text[start]
    i = start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return len(text)
