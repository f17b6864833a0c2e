"""Helpers of the catalogue tests: a small policy, projects with extra files, findings by code."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from compiler import build, check

from ..conftest import make_project

BASE = """\
[routing.cloud]
architect = ["claude-sonnet-4-20250514", "gpt-4o"]
judge = ["claude-sonnet-4-20250514"]

[capture]
mode = "prompts_only"

[budgets.tokens]
plan = 8000
"""

MODELS = """
[model_config."claude-sonnet-4-20250514"]
provider = "anthropic"
context_window = 200000
input_price_per_mtok = 3.0
output_price_per_mtok = 15.0

[model_config.gpt-4o]
provider = "openai"
context_window = 128000
"""

TODAY = _dt.date(2026, 11, 23)


def project(tmp_path: Path, text: str, files: dict[str, str] | None = None, project_extra: str = "") -> Path:
    root = make_project(tmp_path / "p", text, project_extra=project_extra)
    for name, content in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    return root


def diagnose(tmp_path: Path, text: str, files: dict[str, str] | None = None, **kw):
    return check(project(tmp_path, text, files, kw.pop("project_extra", "")), today=TODAY, **kw)


def compile_ok(tmp_path: Path, text: str, files: dict[str, str] | None = None):
    root = project(tmp_path, text, files)
    result = build(root, out_dir=root / "out", today=TODAY)
    assert result.ok, [f"{d.location()} {d.code} {d.message}" for d in result.diagnostics]
    return result


def findings(diagnostics, prefix: str = "POLC5"):
    """(code, file, line, column) of the diagnostics in this issue's range."""
    return [(d.code, d.span.file, d.span.line, d.span.column) for d in diagnostics
            if d.code.startswith(prefix) and d.span]


def codes(diagnostics):
    return sorted(d.code for d in diagnostics)
