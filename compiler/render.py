"""Renderings of diagnostics: text (source line with a caret), json, sarif, github.

(Initial version: text and json; sarif and github follow.)
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Iterable

from .diagnostics import Diagnostic

FORMATS = ("text", "json", "sarif", "github")


def render(diagnostics: Iterable[Diagnostic], fmt: str = "text", *, sources=None, stream: IO | None = None) -> str:
    diagnostics = list(diagnostics)
    if fmt == "json":
        return json.dumps({"diagnostics": [d.to_json() for d in diagnostics]}, indent=2)
    return "\n".join(_text(d) for d in diagnostics)


def _text(d: Diagnostic) -> str:
    line = f"{d.location()}: {d.severity.value}[{d.code}]: {d.message}"
    if d.hint:
        line += f"\n  = hint: {d.hint}"
    return line


def render_error(exc, stream: IO = sys.stderr) -> None:
    if exc.diagnostics:
        stream.write(render(exc.diagnostics) + "\n")
    else:
        stream.write(f"polc: {exc.message}\n")
        if exc.hint:
            stream.write(f"  = hint: {exc.hint}\n")
