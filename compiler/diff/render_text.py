"""The text form of a drift report: a plan a reviewer reads top to bottom, like ``terraform plan``.

Findings first (BLOCK, WARN, INFO, then accepted), then every change grouped by block, then
the status line. Color only when asked for or when writing to a terminal, never when
``NO_COLOR`` is set (https://no-color.org).

>>> from compiler.diff.model import Change, DiffReport, SideInfo
>>> r = DiffReport(SideInfo("a", "snapshot"), SideInfo("b", "snapshot"),
...                (Change(("capture", "mode"), "changed", "none", "full_io"),), ())
>>> print(render_text(r, color=False).splitlines()[-3])
    ~ capture.mode: "none" → "full_io"
"""

from __future__ import annotations

import json
import os
from itertools import groupby
from typing import IO, Any

from ..snippet import safe_text
from .model import BLOCKS, Change, DiffReport, Finding, SideInfo
from .verdict import exit_code

MAX_VALUE_CHARS = 160
_STYLES = {"BLOCK": "\x1b[1;31m", "WARN": "\x1b[1;33m", "INFO": "\x1b[36m", "+": "\x1b[32m", "-": "\x1b[31m",
           "~": "\x1b[33m", "dim": "\x1b[2m", "bold": "\x1b[1m", "OK": "\x1b[1;32m", "accepted": "\x1b[35m"}
_SIGNS = {"added": "+", "removed": "-", "changed": "~"}


def use_color(stream: IO, mode: str = "auto") -> bool:
    """``always``/``never``, or ``auto``: a terminal and no NO_COLOR in the environment."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render_text(report: DiffReport, *, color: bool = False, fail_on: str = "block") -> str:
    paint = _painter(color)
    lines = [_header(report, paint), ""]
    if report.findings:
        lines += [paint("bold", "Findings")] + [ln for f in report.findings for ln in _finding(f, paint)] + [""]
    lines += _impact(report, fail_on, paint)
    lines += _changes(report.changes, paint) if report.new.hash or report.changes else \
        ["No structural diff: NEW did not compile (see the findings above)."]
    lines += _prompt_and_weight_details(report, fail_on)
    if report.notes:
        lines += ["", paint("bold", "Notes")]
        lines += [f"  {_s(d.location()) + ': ' if d.span else ''}{d.severity.value}[{d.code}]: {_s(d.message)}"
                  for d in report.notes]
    lines += ["", _status_line(report, paint, fail_on)]
    return "\n".join(lines) + "\n"


def _s(text: Any) -> str:
    """One line of policy-provided text: no terminal controls (an escape could rewrite the screen)."""
    return safe_text(str(text)).replace("\n", " ")


def _painter(color: bool):
    if not color:
        return lambda style, text: text
    return lambda style, text: f"{_STYLES[style]}{text}\x1b[0m"


def _side(info: SideInfo) -> str:
    bits = [info.kind]
    if info.revision:
        bits.append(info.revision[:12])
    if info.hash:
        bits.append(f"hash {info.hash[:12]}")
    return f"{_s(info.label)} ({', '.join(bits)})"


def _header(report: DiffReport, paint) -> str:
    return paint("bold", "polc diff: ") + f"{_side(report.old)} → {_side(report.new)}"


def _finding(f: Finding, paint) -> list[str]:
    tag = paint("accepted", "accepted") if f.accepted else paint(f.severity.value, f"{f.severity.value:<5}")
    out = [f"  {tag}  {paint('bold', _s(f.rule_id))}  {_s(f.message)}"]
    where = [f"at {f.span}" if f.span else None, f"rule {f.rule_span}" if f.rule_span and f.rule_span != f.span
             else None, f"fingerprint {f.fingerprint}"]
    out.append(paint("dim", "         " + _s(" · ".join(w for w in where if w))))
    if f.approval is not None:
        state = "EXPIRED on" if f.approval.expired else "until"
        out.append(_s(f"         approved by {f.approval.approver} {state} {f.approval.expires}: {f.approval.reason}"))
    for d in f.diagnostics:
        out.append(_s(f"         {d.location()}: {d.severity.value}[{d.code}]: {d.message}"))
        if d.hint:
            out.append(paint("dim", _s(f"           = hint: {d.hint}")))
    return out


def _changes(changes: tuple[Change, ...], paint) -> list[str]:
    if not changes:
        return ["No changes: the two snapshots hold the same policy."]
    counts = {k: sum(1 for c in changes if c.kind == k) for k in ("added", "removed", "changed")}
    lines = [paint("bold", f"Changes ({len(changes)}: {counts['added']} added, {counts['removed']} removed, "
                           f"{counts['changed']} changed)")]
    order = {b: i for i, b in enumerate(BLOCKS)}
    for block, group in groupby(sorted(changes, key=lambda c: order[c.block]), key=lambda c: c.block):
        lines.append(f"  {paint('bold', block)}")
        for change in group:
            lines.extend(_change(change, paint))
    return lines


def _change(c: Change, paint) -> list[str]:
    sign = _SIGNS[c.kind]
    where = paint("dim", f"  ({_s(c.span)})") if c.span else ""
    if c.elements is not None:
        lines = [f"    {paint(sign, sign)} {_s(c.dotted)}{where}"]
        lines += [f"        {paint('+', '+ ' + value_text(x))}" for x in c.elements.added]
        lines += [f"        {paint('-', '- ' + value_text(x))}" for x in c.elements.removed]
        if c.elements.reordered:
            lines.append(f"        {paint('~', '↕ reordered:')} {value_text(c.old)} → {value_text(c.new)}")
        return lines
    if c.kind == "added":
        body = f"{_s(c.dotted)} = {value_text(c.new)}"
    elif c.kind == "removed":
        body = f"{_s(c.dotted)} (was {value_text(c.old)})"
    else:
        body = f"{_s(c.dotted)}: {value_text(c.old)} → {value_text(c.new)}"
    return [f"    {paint(sign, sign)} {body}{where}"]


def _impact(report: DiffReport, fail_on: str, paint) -> list[str]:
    """Budget figures and the replay (compiler/diff/render_impact.py), when there is something to say."""
    if report.impact is None:
        return []
    from .render_impact import text_lines
    from .report_json import to_json

    lines = text_lines(to_json(report, fail_on))
    return [paint("bold", lines[0])] + [_s(line) for line in lines[1:]] + [""] if lines else []


def _prompt_and_weight_details(report: DiffReport, fail_on: str) -> list[str]:
    """Unified diffs of prompt templates and weight shifts (compiler.diff.prompt_review)."""
    if not any(c.block in ("prompts", "weights") for c in report.changes):
        return []
    from .prompt_review import render_text as details
    from .report_json import to_json

    text = details(to_json(report, fail_on))
    return ["", "Prompt and weight details"] + ["  " + safe_text(line) for line in text.splitlines()] if text else []


def value_text(value: Any) -> str:
    text = _s(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def _status_line(report: DiffReport, paint, fail_on: str) -> str:
    status = report.status
    active = [f for f in report.findings if not f.accepted]
    counts = ", ".join(f"{sum(1 for f in active if f.severity.value == s)} {s}" for s in ("BLOCK", "WARN", "INFO"))
    accepted = sum(1 for f in report.findings if f.accepted)
    code = exit_code(status, fail_on)
    return (f"Status: {paint(status, status)} ({counts}, {accepted} accepted); "
            f"exit {code} with --fail-on {fail_on}")
