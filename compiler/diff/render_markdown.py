"""The markdown form of a drift report: a pull-request comment, rendered with jinja2.

Summary table, then findings (BLOCK first), then changes by block, each block capped at
:data:`MAX_ROWS_PER_BLOCK` rows so the comment stays under GitHub's 65,536-character limit.
Every value from the policy is escaped: it cannot break the table, open a link or inject HTML.

>>> md_cell("a|b <script>")
'a\\\\|b &lt;script&gt;'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import BLOCKS

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
MAX_ROWS_PER_BLOCK = 100
MAX_CELL_CHARS = 120
_SIGNS = {"added": "➕", "removed": "➖", "changed": "✏️"}


def render_markdown(report_json: dict[str, Any]) -> str:
    env = _environment()
    groups = _groups(report_json["changes"])
    from .prompt_review import render_markdown as prompt_sections  # template diffs, weight shifts
    from .render_impact import markdown as impact_section  # budget figures, replayed decisions

    return env.get_template("diff.md.j2").render(r=report_json, groups=groups, details=prompt_sections(report_json),
                                                 impact=impact_section(report_json)).strip() + "\n"


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    env.filters.update(cell=md_cell, code=md_code, where=_where, sign=lambda k: _SIGNS[k], side=_side,
                       status_badge=_status_badge, finding_severity=_finding_severity, old_cell=_old_cell,
                       new_cell=_new_cell, diag_where=_diag_where)
    return env


def _groups(changes: list[dict]) -> list[tuple[str, list[dict], int]]:
    by_block: dict[str, list[dict]] = {}
    for change in changes:
        by_block.setdefault(change["block"], []).append(change)
    return [(b, by_block[b][:MAX_ROWS_PER_BLOCK], max(0, len(by_block[b]) - MAX_ROWS_PER_BLOCK))
            for b in BLOCKS if b in by_block]


def md_cell(value: Any) -> str:
    """Text safe inside a table cell: no pipes, newlines, HTML or link syntax."""
    text = str(value)
    if len(text) > MAX_CELL_CHARS * 2:
        text = text[:MAX_CELL_CHARS * 2 - 1] + "…"
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("[", "\\["), ("]", "\\]"),
                      ("\r", " "), ("\n", " ")):
        text = text.replace(raw, safe)
    return text


def md_code(value: Any) -> str:
    """An inline code span; a fence longer than any backtick run inside keeps it closed."""
    text = md_cell(value).replace("\\|", "|").replace("\\[", "[").replace("\\]", "]")
    return backtick_fence(text.replace("|", "&#124;"))


def backtick_fence(text: str) -> str:
    """``text`` as an inline code span whose fence is longer than any backtick run inside it."""
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _longest_backtick_run(text: str) -> int:
    best = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    return best


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return md_code(text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…")


def _old_cell(change: dict) -> str:
    if "elements" in change:
        e = change["elements"]
        parts = [f"➖ {_value(x)}" for x in e["removed"]]
        return "<br>".join(parts) or ("order changed" if e["reordered"] else "")
    return "" if change["kind"] == "added" else _value(change["old"])


def _new_cell(change: dict) -> str:
    if "elements" in change:
        e = change["elements"]
        parts = [f"➕ {_value(x)}" for x in e["added"]]
        if e["reordered"]:
            parts.append(f"now {_value(change['new'])}")
        return "<br>".join(parts)
    return "" if change["kind"] == "removed" else _value(change["new"])


def _where(location: dict | None) -> str:
    return md_code(f"{location['file']}:{location['line']}") if location else ""


def _diag_where(d: dict) -> str:
    return f"{d['file']}:{d['line']}:{d['column']}" if "file" in d else "polc"


def _side(side: dict) -> str:
    bits = [side["kind"]] + ([f"commit {md_code(side['revision'][:12])}"] if side["revision"] else [])
    bits += [f"hash {md_code(side['hash'][:12])}"] if side["hash"] else []
    return f"{md_code(side['label'])} ({', '.join(bits)})"


def _status_badge(status: str) -> str:
    return {"OK": "✅ OK", "WARN": "⚠️ WARN", "BLOCK": "⛔ BLOCK"}[status]


def _finding_severity(finding: dict) -> str:
    if finding["accepted"]:
        return f"accepted ({finding['severity']})"
    return f"**{finding['severity']}**"
