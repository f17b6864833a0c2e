"""Renderings of diagnostics: ``text`` (source line and caret, like rustc or clang), ``json``,
``sarif`` (2.1.0), ``github`` (workflow commands) and ``markdown``. All are views of the same
``Diagnostic`` objects (docs/diagnostic-formats.md).

>>> from compiler.diagnostics import Diagnostic, Span
>>> d = Diagnostic.error("POLC102", "unknown key `rout`", Span("model_policy.toml", 1, 1, 1, 5),
...                      hint="did you mean `routing`?")
>>> print(render([d], "text", sources={"model_policy.toml": "rout = 1\\n"}))
model_policy.toml:1:1: error[POLC102]: unknown key `rout`
  |
1 | rout = 1
  | ^^^^
  = hint: did you mean `routing`?
<BLANKLINE>
1 error
>>> print(render([d], "github"))
::error file=model_policy.toml,line=1,col=1,endLine=1,endColumn=4,title=POLC102::unknown key `rout`%0Ahint: did you mean `routing`?
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Iterable, Mapping

from .diagnostics import Diagnostic, Severity
from .sources import MAX_SOURCE_BYTES
from .snippet import Palette, safe_text, snippet

FORMATS = ("text", "json", "sarif", "github", "markdown")
#: Formats meant for a person; the others are read by programs and never colored.
HUMAN_FORMATS = ("text",)
DIAGNOSTICS_SCHEMA_VERSION = "polc_diagnostics@v1"


def render(diagnostics: Iterable[Diagnostic], fmt: str = "text", *, sources: Mapping[str, str] | None = None,
           root: str | os.PathLike | None = None, stream: IO | None = None, color: bool | None = None) -> str:
    """``diagnostics`` in format ``fmt``. Source lines come from ``sources`` ({project-relative name:
    text}) or are read from under ``root``; a file that cannot be read just loses its snippet.
    ``color`` defaults to "``stream`` is a terminal and NO_COLOR is not set"."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagnostics format {fmt!r}; expected one of {', '.join(FORMATS)}")
    diagnostics = list(diagnostics)
    if fmt == "json":
        return render_json(diagnostics)
    if fmt == "sarif":
        return render_sarif(diagnostics, root=root)
    if fmt == "github":
        return render_github(diagnostics)
    if fmt == "markdown":
        return render_markdown(diagnostics)
    lines = SourceLines(sources, root)
    return render_text(diagnostics, lines, Palette.for_stream(stream, color))


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(diagnostics: Iterable[Diagnostic], *, root: str | os.PathLike | None = None) -> str:
    """Diagnostics as a SARIF 2.1.0 log (compiler/sarif.py writes it; rules link to the codes' reference).

    >>> from compiler.diagnostics import Span
    >>> log = json.loads(render_sarif([Diagnostic.warning("POLC111", "model listed twice",
    ...                                                   Span("model_policy.toml", 4, 14, 4, 20))]))
    >>> result = log["runs"][0]["results"][0]
    >>> result["ruleId"], result["level"], result["locations"][0]["physicalLocation"]["region"]
    ('POLC111', 'warning', {'startLine': 4, 'startColumn': 14, 'endLine': 4, 'endColumn': 20})
    """
    from .codes import CODES, is_input_code
    from .sarif import Location, Result, Rule, sarif_log

    diagnostics = list(diagnostics)
    rules = [Rule(code, CODES[code].title if code in CODES else code, f"reference/diagnostics.md#{code.lower()}",
                  properties={"input": bool(code in CODES and CODES[code].input)})
             for code in sorted({d.code for d in diagnostics})]
    results = []
    for d in diagnostics:
        span = d.span
        location = Location(span.file, span.line, span.column, span.end_line, span.end_column) if span else None
        text = "\n".join([d.message] + [f"{title}: {note}" for title, note in details(d)])
        results.append(Result(d.code, _SARIF_LEVEL[d.severity], text, location,
                              properties={"hint": d.hint} if d.hint else {}))
    failed = any(d.is_error and is_input_code(d.code) for d in diagnostics)
    return sarif_log(rules, results, root=root, successful=not failed)


def render_error(exc, stream: IO = sys.stderr, *, root: str | os.PathLike | None = None) -> None:
    """Print a ``PolcError`` (its diagnostics, or its message and hint) to ``stream``."""
    if exc.diagnostics:
        root = root if root is not None else getattr(exc, "root", None) or _project_root_near_cwd()
        stream.write(render(exc.diagnostics, "text", root=root, stream=stream) + "\n")
        return
    palette = Palette.for_stream(stream, None)
    stream.write(f"{palette.error('polc:')} {exc.message}\n")
    if exc.hint:
        stream.write(f"  {palette.bold('= hint:')} {exc.hint}\n")


# --- text --------------------------------------------------------------------------------------

def render_text(diagnostics: list[Diagnostic], lines: "SourceLines", palette: Palette) -> str:
    blocks = [_text_block(d, lines, palette) for d in diagnostics]
    if not diagnostics:
        return ""
    return "\n\n".join(blocks) + "\n\n" + palette.bold(summary_line(diagnostics))


def _text_block(d: Diagnostic, lines: "SourceLines", palette: Palette) -> str:
    label = palette.severity(d.severity, f"{_severity_word(d.severity)}[{d.code}]")
    out = [f"{palette.bold(safe_text(d.location()))}: {label}: {palette.bold(safe_text(d.message))}"]
    if d.span is not None:
        line = lines.get(d.span.file, d.span.line)
        if line is not None:
            out.extend(snippet(d.span, line, palette.severity_painter(d.severity), palette))
    for title, text in details(d):
        out.append(f"  {palette.bold(f'= {title}:')} {safe_text(text)}")
    return "\n".join(out)


def details(d: Diagnostic) -> list[tuple[str, str]]:
    """The hint and notes of ``d`` as (title, text) pairs, hint first."""
    return ([("hint", d.hint)] if d.hint else []) + [("note", note) for note in d.notes]


def _severity_word(severity: Severity) -> str:
    return "note" if severity is Severity.INFO else severity.value


def counts(diagnostics: Iterable[Diagnostic]) -> dict[str, int]:
    tally = {"errors": 0, "warnings": 0, "notes": 0}
    for d in diagnostics:
        tally[{"error": "errors", "warning": "warnings", "info": "notes"}[d.severity.value]] += 1
    return tally


def summary_line(diagnostics: Iterable[Diagnostic]) -> str:
    """``2 errors, 1 warning`` (notes only when there are any; ``no problems`` when empty)."""
    tally = counts(diagnostics)
    parts = [f"{tally['errors']} error{'s' * (tally['errors'] != 1)}",
             f"{tally['warnings']} warning{'s' * (tally['warnings'] != 1)}"]
    if tally["notes"]:
        parts.append(f"{tally['notes']} note{'s' * (tally['notes'] != 1)}")
    if not any(tally.values()):
        return "no problems"
    return ", ".join(p for p in parts if not p.startswith("0 ")) or parts[0]


class SourceLines:
    """Source lines by project-relative name, from a mapping or read (bounded, inside ``root``)."""

    def __init__(self, sources: Mapping[str, str] | None, root: str | os.PathLike | None):
        self._sources = dict(sources or {})
        self._root = Path(root).resolve() if root is not None else None
        self._lines: dict[str, list[str] | None] = {}

    def get(self, name: str, number: int) -> str | None:
        if name not in self._lines:
            text = self._sources.get(name)
            self._lines[name] = (text if text is not None else self._read(name))
            if self._lines[name] is not None:
                # Only "\n" ends a line in TOML, YAML and .rules; str.splitlines would also split
                # on U+2028, form feed and others, and shift every line number after them.
                self._lines[name] = self._lines[name].split("\n")
        lines = self._lines[name]
        return lines[number - 1] if lines is not None and 0 < number <= len(lines) else None

    def _read(self, name: str) -> str | None:
        if self._root is None:
            return None
        try:
            path = (self._root / name).resolve()
            path.relative_to(self._root)  # never show a file from outside the project
            if path.stat().st_size > MAX_SOURCE_BYTES:
                return None
            return path.read_bytes().decode("utf-8")
        except (OSError, ValueError):
            return None


def _project_root_near_cwd() -> Path | None:
    try:
        from .project import find_project_file

        return find_project_file(Path.cwd()).parent
    except Exception:  # no project here: diagnostics are printed without snippets
        return None


# --- json --------------------------------------------------------------------------------------

def render_json(diagnostics: list[Diagnostic]) -> str:
    """``{"schema_version", "diagnostics": [...], "summary": {...}}``; see schemas/diagnostics.schema.json."""
    tally = counts(diagnostics)
    summary = {**tally, "total": len(diagnostics), "ok": tally["errors"] == 0}
    payload = {"schema_version": DIAGNOSTICS_SCHEMA_VERSION,
               "diagnostics": [d.to_json() for d in diagnostics], "summary": summary}
    return json.dumps(payload, indent=2, ensure_ascii=False)


# --- github workflow commands ------------------------------------------------------------------

_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(diagnostics: list[Diagnostic]) -> str:
    """One ``::error file=…,line=…::message`` workflow command per diagnostic (GitHub Actions)."""
    return "\n".join(_github_line(d) for d in diagnostics)


def _github_line(d: Diagnostic) -> str:
    props: list[tuple[str, object]] = []
    if d.span is not None:
        span = d.span
        props += [("file", span.file), ("line", span.line)]
        if span.end_line == span.line:
            # GitHub's endColumn is inclusive; a Span's end is exclusive.
            props += [("col", span.column), ("endLine", span.end_line),
                      ("endColumn", max(span.column, span.end_column - 1))]
        else:
            props += [("endLine", span.end_line)]
    props.append(("title", d.code))
    message = "\n".join([d.message] + [f"{title}: {text}" for title, text in details(d)])
    rendered = ",".join(f"{key}={_escape_property(str(value))}" for key, value in props)
    return f"::{_GITHUB_LEVEL[d.severity]} {rendered}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# --- markdown ----------------------------------------------------------------------------------

def render_markdown(diagnostics: list[Diagnostic]) -> str:
    """A table for a pull-request comment or a job summary."""
    if not diagnostics:
        return "**polc**: no problems\n"
    rows = ["| | code | location | message |", "| --- | --- | --- | --- |"]
    for d in diagnostics:
        parts = [_md(d.message)] + [f"*{title}:* {_md(text)}" for title, text in details(d)]
        where = _md(d.location()) if d.span else ""
        rows.append(f"| {_MARK[d.severity]} | `{d.code}` | {where} | {'<br>'.join(parts)} |")
    return f"**polc**: {summary_line(diagnostics)}\n\n" + "\n".join(rows) + "\n"


_MARK = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _md(text: str) -> str:
    """``text`` safe inside a table cell: no HTML, no cell breaks, no line breaks."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return text.replace("\r", "").replace("\n", "<br>")

