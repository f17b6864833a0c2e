"""Diagnostics as a SARIF 2.1.0 log, for code-scanning tools (GitHub code scanning, VS Code SARIF viewer).

One run; ``tool.driver`` is polc with its version and one rule per code that occurs (title from
``compiler.codes.CODES``, ``helpUri`` into docs/reference/diagnostics.md); each result has its
rule, level, message and a project-relative ``physicalLocation`` with a 1-based region whose
``endColumn`` is exclusive, exactly like a ``Span``.

>>> from compiler.diagnostics import Diagnostic, Span
>>> log = json.loads(render_sarif([Diagnostic.warning("POLC111", "model listed twice",
...                                                   Span("model_policy.toml", 4, 14, 4, 20))]))
>>> result = log["runs"][0]["results"][0]
>>> result["ruleId"], result["level"], result["locations"][0]["physicalLocation"]["region"]
('POLC111', 'warning', {'startLine': 4, 'startColumn': 14, 'endLine': 4, 'endColumn': 20})
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable
from urllib.parse import quote

from .codes import CODES, is_input_code
from .diagnostics import Diagnostic, Severity
from .paths import PACKAGE_ROOT
from .version import __version__

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: Where rule help links point: ``$POLC_DOCS_URL`` (the docs/ folder of a published copy) or,
#: without it, the docs shipped with this installation.
DOCS_URL_ENV = "POLC_DOCS_URL"
ROOT_BASE_ID = "PROJECTROOT"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(diagnostics: Iterable[Diagnostic], *, root: str | os.PathLike | None = None) -> str:
    diagnostics = list(diagnostics)
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    run: dict = {
        "tool": {"driver": {
            "name": "polc",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": _docs_base() + "/getting-started.md",
            "rules": [_rule(code) for code in codes],
        }},
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index[d.code]) for d in diagnostics],
        # Findings are the analysis succeeding; only an input polc could not read is a failed run.
        "invocations": [{"executionSuccessful": not any(d.is_error and is_input_code(d.code) for d in diagnostics)}],
    }
    if root is not None:
        # Lets a viewer turn the project-relative URIs into real files.
        run["originalUriBaseIds"] = {ROOT_BASE_ID: {"uri": Path(root).resolve().as_uri() + "/"}}
    log = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False)


def _rule(code: str) -> dict:
    entry = CODES.get(code)
    title = entry.title if entry else code
    return {
        "id": code,
        "shortDescription": {"text": title},
        "helpUri": f"{_docs_base()}/reference/diagnostics.md#{code.lower()}",
        "properties": {"input": bool(entry and entry.input)},
    }


def _result(d: Diagnostic, rule_index: int) -> dict:
    from .render import details

    text = "\n".join([d.message] + [f"{title}: {note}" for title, note in details(d)])
    result: dict = {"ruleId": d.code, "ruleIndex": rule_index, "level": _LEVEL[d.severity],
                    "message": {"text": text}}
    if d.span is not None:
        span = d.span
        region = {"startLine": span.line, "startColumn": span.column,
                  "endLine": span.end_line, "endColumn": span.end_column}
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": quote(span.file), "uriBaseId": ROOT_BASE_ID},
            "region": region,
        }}]
    if d.hint:
        result["properties"] = {"hint": d.hint}
    return result


def _docs_base() -> str:
    configured = os.environ.get(DOCS_URL_ENV, "").strip().rstrip("/")
    return configured or (PACKAGE_ROOT / "docs").as_uri()
