"""The one SARIF 2.1.0 producer: ``polc check`` diagnostics and ``polc diff`` findings alike.

Callers describe their rules and results; this module writes the log the same way for both:
one run, ``tool.driver`` polc with its version, one rule per id that occurs, each with a
``helpUri`` into the docs (``$POLC_DOCS_URL``, the docs/ folder of a published copy, or the
docs shipped with this installation); results with a level, a message, a project-relative
``physicalLocation`` (percent-encoded URI, ``uriBaseId`` PROJECTROOT, a 1-based region whose
``endColumn`` is exclusive, like a ``Span``), fingerprints and suppressions when given.

>>> log = json.loads(sarif_log([Rule("POLC111", "model listed twice", "reference/diagnostics.md#polc111")],
...                            [Result("POLC111", "warning", "m listed twice", Location("a b.toml", 4, 14, 4, 20))]))
>>> result = log["runs"][0]["results"][0]
>>> result["ruleIndex"], result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
(0, 'a%20b.toml')
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from .paths import PACKAGE_ROOT
from .version import __version__

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: Where rule help links point: ``$POLC_DOCS_URL`` (the docs/ folder of a published copy) or,
#: without it, the docs shipped with this installation.
DOCS_URL_ENV = "POLC_DOCS_URL"
ROOT_BASE_ID = "PROJECTROOT"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    help: str                                   # a docs/ page and anchor, e.g. "diff.md#drift-rules"
    level: str | None = None                    # defaultConfiguration.level
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Location:
    file: str                                   # project-relative, as a diagnostic's span names it
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Result:
    rule_id: str
    level: str                                  # error, warning or note
    message: str
    location: Location | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)
    suppression: str | None = None              # the justification of an accepted finding
    properties: dict[str, Any] = field(default_factory=dict)


def sarif_log(rules: Iterable[Rule], results: Iterable[Result], *, root: str | os.PathLike | None = None,
              properties: dict[str, Any] | None = None, successful: bool = True,
              information: str = "getting-started.md") -> str:
    """The SARIF log as indented JSON. ``rules`` may hold more than the results use; only the
    rules that occur are written, in the order given (then any others in order of first use)."""
    rules = list(rules)
    known = {rule.id: rule for rule in rules}
    results = list(results)
    occurring = set(r.rule_id for r in results)
    used = [rule.id for rule in rules if rule.id in occurring]
    used += [rule_id for rule_id in dict.fromkeys(r.rule_id for r in results) if rule_id not in known]
    index = {rule_id: i for i, rule_id in enumerate(used)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "polc", "version": __version__, "semanticVersion": __version__,
                            "informationUri": f"{docs_base()}/{information}",
                            "rules": [_rule(known.get(rule_id) or Rule(rule_id, rule_id, "")) for rule_id in used]}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(r, index[r.rule_id]) for r in results],
        # Findings are the analysis succeeding; only an input polc could not read is a failed run.
        "invocations": [{"executionSuccessful": successful}],
    }
    if root is not None:  # lets a viewer turn the project-relative URIs into real files
        run["originalUriBaseIds"] = {ROOT_BASE_ID: {"uri": Path(root).resolve().as_uri() + "/"}}
    if properties:
        run["properties"] = properties
    return json.dumps({"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}, indent=2,
                      ensure_ascii=False)


def _rule(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.id, "name": rule.id, "shortDescription": {"text": rule.title},
                           "helpUri": f"{docs_base()}/{rule.help}" if rule.help else f"{docs_base()}/"}
    if rule.level:
        out["defaultConfiguration"] = {"level": rule.level}
    if rule.properties:
        out["properties"] = rule.properties
    return out


def _result(r: Result, rule_index: int) -> dict[str, Any]:
    out: dict[str, Any] = {"ruleId": r.rule_id, "ruleIndex": rule_index, "level": r.level,
                           "message": {"text": r.message}}
    if r.location is not None:
        loc = r.location
        out["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": quote(loc.file.replace("\\", "/")), "uriBaseId": ROOT_BASE_ID},
            "region": {"startLine": loc.line, "startColumn": loc.column,
                       "endLine": max(loc.end_line, loc.line), "endColumn": loc.end_column},
        }}]
    if r.fingerprints:
        out["partialFingerprints"] = dict(r.fingerprints)
    if r.suppression is not None:
        out["suppressions"] = [{"kind": "external", "status": "accepted", "justification": r.suppression}]
    if r.properties:
        out["properties"] = dict(r.properties)
    return out


def docs_base() -> str:
    configured = os.environ.get(DOCS_URL_ENV, "").strip().rstrip("/")
    return configured or (PACKAGE_ROOT / "docs").as_uri()
