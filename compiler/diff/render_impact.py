"""The impact section of every diff format: budget figures per run and the replay of decisions.

Every renderer reads the report's JSON ``impact`` (compiler/diff/impact_review.py), so text,
markdown, SARIF and GitHub output say the same. The section appears when the budget
figures changed or ``--replay`` was given.

>>> report = {"impact": {"budget": {"currency": "USD", "old": {"worst_case": "0.27", "expected": "0.267",
...     "binding": "budgets.tokens"}, "new": {"worst_case": "0.54", "expected": "0.5", "binding": "budgets.tokens"}},
...     "replay": None}}
>>> text_lines(report)
['Impact', '  worst-case spend per run: 0.27 → 0.54 USD (binding: budgets.tokens); expected 0.267 → 0.5 USD']
"""

from __future__ import annotations

from typing import Any

from .render_markdown import md_cell, md_code


def shown(report: dict[str, Any]) -> bool:
    impact = report.get("impact")
    if not impact:
        return False
    old, new = impact["budget"]["old"], impact["budget"]["new"]
    return impact["replay"] is not None or (old["worst_case"], old["expected"]) != (new["worst_case"], new["expected"])


def budget_line(report: dict[str, Any]) -> str:
    b = report["impact"]["budget"]
    old, new, money = b["old"], b["new"], b["currency"]
    return (f"worst-case spend per run: {old['worst_case']} → {new['worst_case']} {money} "
            f"(binding: {new['binding']}); expected {old['expected']} → {new['expected']} {money}")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def summary_sentences(replay: dict[str, Any]) -> list[str]:
    """One sentence per kind of decision (also the SARIF and GitHub notes)."""
    r, g, b = replay["routes"], replay["gates"], replay["budgets"]
    out = [f"replayed {replay['decisions']} recorded decision(s) from {replay['runs']} run(s) under NEW",
           f"routes: {r['changed']} of {r['replayed']} ({_percent(r['changed'], r['replayed'])}) would pick another "
           f"model; {r['fallbacks_changed']} keep the pick with other fallbacks",
           f"gates: {g['flipped']} of {g['replayed']} verdict(s) flip ({g['pass_to_fail']} PASS → FAIL, "
           f"{g['fail_to_pass']} FAIL → PASS" + (f", {g['removed']} of a removed gate" if g["removed"] else "") + ")",
           f"budgets: of {b['runs']} run(s), {b['earlier']} would hit a limit earlier and {b['later']} later; cost "
           f"{b['cost_old']} → {b['cost_new']} {b['currency']} ({_signed(b['cost_delta'])})"]
    if replay["skipped"]["total"]:
        out.append(f"skipped: {replay['skipped']['total']} decision(s) recorded under another policy")
    if replay["unreproducible"]["total"]:
        out.append(f"unreproducible: {replay['unreproducible']['total']} decision(s) OLD does not answer the same way")
    return out


def notes(report: dict[str, Any]) -> list[str]:
    """The impact as one-line notes (SARIF results, GitHub notices); empty when there is none to show."""
    if not shown(report):
        return []
    replay = report["impact"]["replay"]
    return [budget_line(report)] + (summary_sentences(replay) if replay is not None else [])


def _signed(amount: str) -> str:
    return amount if amount.startswith("-") else f"+{amount}"


def text_lines(report: dict[str, Any]) -> list[str]:
    if not shown(report):
        return []
    lines = ["Impact", "  " + budget_line(report)]
    replay = report["impact"]["replay"]
    if replay is None:
        return lines
    sentences = summary_sentences(replay)
    lines += [f"  {sentences[0]}:", f"    {sentences[1]}"]
    lines += [f"      {t['role']}: {t['old_model']} → {t['new_model']} ×{t['count']}  (e.g. {', '.join(t['examples'])})"
              for t in replay["routes"]["transitions"]]
    lines.append(f"    {sentences[2]}")
    for f in replay["gates"]["flips"]:
        conditions = "; ".join(f"`{c['condition']}` ×{c['count']}" for c in f["conditions"][:3])
        lines.append(f"      {f['gate']} {f['direction']} ×{f['count']}" + (f" on {conditions}" if conditions else "")
                     + f"  (e.g. {', '.join(f['examples'])})")
    lines += [f"    {sentence}" for sentence in sentences[3:]]
    return lines


def markdown(report: dict[str, Any]) -> str:
    if not shown(report):
        return ""
    lines = ["#### What this change will do", "", budget_line(report).replace("worst-case spend", "Worst-case spend", 1)]
    replay = report["impact"]["replay"]
    if replay is not None:
        lines += ["", _markdown_replay(replay)]
    return "\n".join(lines)


def _markdown_replay(replay: dict[str, Any]) -> str:
    r, g, b = replay["routes"], replay["gates"], replay["budgets"]
    lines = [f"Replayed **{replay['decisions']}** recorded decisions from **{replay['runs']}** runs under NEW "
             f"({', '.join(md_code(i) for i in replay['inputs'])}):", "",
             "| Decisions | Replayed | Changed | Detail |", "| --- | ---: | ---: | --- |",
             f"| Routes | {r['replayed']} | {r['changed']} ({_percent(r['changed'], r['replayed'])}) | "
             f"{r['fallbacks_changed']} keep the pick with other fallbacks |",
             f"| Gate verdicts | {g['replayed']} | {g['flipped']} | {g['pass_to_fail']} PASS → FAIL, "
             f"{g['fail_to_pass']} FAIL → PASS |",
             f"| Budgets (runs) | {b['runs']} | {b['earlier'] + b['later']} | {b['earlier']} hit a limit earlier, "
             f"{b['later']} later; cost {md_cell(b['cost_old'])} → {md_cell(b['cost_new'])} {md_cell(b['currency'])} "
             f"({md_cell(_signed(b['cost_delta']))}) |"]
    if r["transitions"]:
        lines += ["", "<details open><summary>Route changes by role and model</summary>", "",
                  "| Role | Old → new pick | Decisions | Example runs |", "| --- | --- | ---: | --- |"]
        lines += [f"| {md_code(t['role'])} | {md_code(t['old_model'])} → {md_code(t['new_model'])} | {t['count']} | "
                  f"{', '.join(md_code(x) for x in t['examples'])} |" for t in r["transitions"][:50]]
        lines += ["", "</details>"]
    if g["flips"]:
        lines += ["", "<details open><summary>Gate flips</summary>", "",
                  "| Gate | Flip | Decisions | Conditions | Example runs |", "| --- | --- | ---: | --- | --- |"]
        lines += [f"| {md_code(f['gate'])} | {f['direction']} | {f['count']} | {_conditions(f)} | "
                  f"{', '.join(md_code(x) for x in f['examples'])} |" for f in g["flips"][:50]]
        lines += ["", "</details>"]
    extra = summary_sentences(replay)[4:]
    if extra:
        lines += [""] + [f"- {md_cell(sentence)}" for sentence in extra]
    return "\n".join(lines)


def _conditions(flip: dict[str, Any]) -> str:
    # Plain escaped text, not code spans: a condition's `<=` must not show as `&lt;=`.
    return "<br>".join(f"{md_cell(c['condition'])} ×{c['count']}" for c in flip["conditions"][:5])
