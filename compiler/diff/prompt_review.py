"""Reviewing prompt templates and weight shifts: the parts of a drift report a table cannot show.

The structural diff reports a template edit as one changed string, which a table cell can
only truncate. This module turns the report's ``prompts`` changes into unified diffs of the
template text (a prompt added or removed diffs against nothing) and its ``weights`` changes
into share-of-traffic shifts, and renders both as a markdown or text section. It reads the
JSON form of the report (``compiler.diff.report_json.to_json``), like every renderer.

>>> changes = [{"segments": ["prompts", "plan", "template"], "kind": "changed",
...             "old": "Plan.\\nBe brief.\\n", "new": "Plan.\\nBe thorough.\\n"}]
>>> print(prompt_diffs(changes)[0].unified, end="")
--- a/prompts.plan
+++ b/prompts.plan
@@ -1,2 +1,2 @@
 Plan.
-Be brief.
+Be thorough.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

#: A template diff longer than this many lines is cut, with a note, to keep a PR comment small.
MAX_DIFF_LINES = 200


@dataclass(frozen=True)
class PromptDiff:
    signature: str
    kind: str            # "changed" | "added" | "removed"
    file: str | None     # the template file, when the prompt names one
    unified: str
    old: str = ""        # the template text on each side ("" for a prompt added or removed)
    new: str = ""


@dataclass(frozen=True)
class WeightShift:
    role: str
    model: str
    old: float | None    # share of the role's traffic (0..1); None when the model had no weight
    new: float | None

    @property
    def points(self) -> float:
        """The shift in percentage points."""
        return ((self.new or 0.0) - (self.old or 0.0)) * 100


def prompt_diffs(changes: Iterable[Mapping[str, Any]]) -> list[PromptDiff]:
    """A unified diff per changed, added or removed prompt template."""
    out = []
    for change in changes:
        path, kind = tuple(change["segments"]), change["kind"]
        if path[:1] != ("prompts",) or len(path) not in (2, 3) or (len(path) == 3 and path[2] != "template"):
            continue
        old, new = change.get("old"), change.get("new")
        if len(path) == 2:  # the whole prompt was added or removed
            old, new = (old or {}).get("template", ""), (new or {}).get("template", "")
            file = (change.get("new") or change.get("old") or {}).get("template_file")
        else:
            file = (change.get("location") or {}).get("file")
        out.append(PromptDiff(path[1], kind, file, _unified(path[1], old or "", new or ""), old or "", new or ""))
    return out


def _unified(signature: str, old: str, new: str) -> str:
    name = f"prompts.{signature}"
    lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                      f"a/{name}", f"b/{name}"))
    lines = [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]
    if len(lines) > MAX_DIFF_LINES:
        hidden = len(lines) - MAX_DIFF_LINES
        lines = lines[:MAX_DIFF_LINES] + [f"… {hidden} more diff lines not shown\n"]
    return "".join(lines)


def weight_shifts(changes: Iterable[Mapping[str, Any]]) -> list[WeightShift]:
    """Every model whose share of a role's traffic changed, with both shares."""
    out = []
    for change in changes:
        path = tuple(change["segments"])
        if path[:1] != ("weights",):
            continue
        if len(path) == 3:
            out.append(WeightShift(path[1], path[2], change.get("old"), change.get("new")))
        elif len(path) == 2:  # a role's weights added or removed as a whole
            old, new = change.get("old") or {}, change.get("new") or {}
            out.extend(WeightShift(path[1], m, old.get(m), new.get(m)) for m in {**old, **new})
    return out


# -- rendering ------------------------------------------------------------------------------

def render_markdown(report: Mapping[str, Any]) -> str:
    """The "Prompt changes" and "Weight shifts" sections of a PR comment ("" when neither changed)."""
    from .render_markdown import _longest_backtick_run  # lazy: render_markdown imports this module lazily

    changes = report.get("changes", [])
    parts = []
    diffs = prompt_diffs(changes)
    if diffs:
        parts.append("#### Prompt changes\n")
        for d in diffs:
            where = f" ({_inline_code(d.file)})" if d.file else ""
            fence = "`" * max(3, _longest_backtick_run(d.unified) + 1)
            parts.append(f"<details open><summary><code>prompts.{_html(d.signature)}</code>{where}: {d.kind}"
                         f"</summary>\n\n{fence}diff\n{d.unified}{fence}\n\n</details>\n")
    shifts = weight_shifts(changes)
    if shifts:
        parts.append("#### Weight shifts\n\n| Role | Model | Old share | New share | Shift |\n"
                     "| --- | --- | ---: | ---: | ---: |")
        parts.extend(f"| {_inline_code(s.role)} | {_inline_code(s.model)} | {_share(s.old)} | {_share(s.new)} | "
                     f"{s.points:+.1f} pp |" for s in shifts)
        parts.append("")
    return "\n".join(parts)


def render_text(report: Mapping[str, Any]) -> str:
    changes = report.get("changes", [])
    out = []
    for d in prompt_diffs(changes):
        out.append(f"prompt `{d.signature}` {d.kind}" + (f" ({d.file})" if d.file else "") + ":")
        out.extend("    " + line for line in d.unified.splitlines())
    for s in weight_shifts(changes):
        out.append(f"weight of `{s.model}` in role `{s.role}`: {_share(s.old)} -> {_share(s.new)} "
                   f"({s.points:+.1f} pp)")
    return "\n".join(out) + ("\n" if out else "")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline_code(text: str) -> str:
    from .render_markdown import backtick_fence  # lazy: render_markdown imports this module lazily too

    text = _html(str(text)).replace("|", "&#124;").replace("\n", " ")
    return backtick_fence(text)
