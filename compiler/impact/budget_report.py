"""The budget proof as JSON and as a table (``polc explain budget``, docs/impact.md).

Every figure is exact text (:func:`compiler.impact.amounts.text`): a decimal, a fraction
``p/q`` when a traffic share makes the expansion endless, or ``unbounded`` / ``unknown``.
Each row carries the inputs it was computed from (tokens, prices, share), so it can be
recomputed by hand.

>>> from compiler.impact.prover import prove
>>> proof = prove({"routing": {"cloud": {"a": ["m"]}, "stages": {"s": "a"}},
...                "budgets": {"tokens": {"s": 1000}, "cost": None},
...                "model_config": {"m": {"input_price_per_mtok": 1, "output_price_per_mtok": 2}}})
>>> to_json(proof)["run"]["worst_case"], to_json(proof)["stages"][0]["models"][0]["max_call"]["cost"]
('0.002', '0.002')
"""

from __future__ import annotations

from typing import Any

from .amounts import short, text, times
from .prover import BudgetProof, Call, Row


def to_json(proof: BudgetProof) -> dict[str, Any]:
    return {
        "currency": proof.currency,
        "stages": [{"stage": s.stage, "role": s.role, "tokens": s.tokens, "worst_case": text(s.worst),
                    "expected": text(s.expected), "binding": s.binding, "models": [_row(r) for r in s.rows]}
                   for s in proof.stages],
        "run": {"worst_case": text(proof.worst), "expected": text(proof.expected), "binding": proof.binding,
                "stages_total": text(proof.stages_total), "warn_threshold": text(proof.warn) if proof.warn is not None
                else None, "hard_limit": text(proof.hard) if proof.hard is not None else None,
                "max_call": None if proof.max_call is None else {"stage": proof.max_call[0], "model": proof.max_call[1],
                                                                 **_call(proof.max_call[2])},
                "overshoot": None if proof.overshoot is None else {
                    "stage": proof.overshoot.stage, "model": proof.overshoot.model, **_call(proof.overshoot.call),
                    "spent_before": text(proof.overshoot.before), "total": text(proof.overshoot.total)}},
        "notes": list(proof.notes),
    }


def _call(call: Call) -> dict[str, Any]:
    return {"input_tokens": call.input_tokens, "output_tokens": call.output_tokens, "cost": text(call.cost),
            "limit": call.limit}


def _row(row: Row) -> dict[str, Any]:
    return {"model": row.model, "source": row.source, "share": None if row.share is None else text(row.share),
            "input_price_per_mtok": _maybe(row.input_price), "output_price_per_mtok": _maybe(row.output_price),
            "context_window": row.context_window, "max_output_tokens": row.max_output_tokens,
            "max_call": _call(row.call), "full_budget": text(row.full_budget), "worst_case": text(row.worst),
            "expected": None if row.share is None else text(times(row.share, row.worst)), "binding": row.binding}


def _maybe(value) -> str | None:
    return None if value is None else text(value)


_HEAD = ("stage", "role", "tokens", "model", "share", "max call: in+out tokens → cost", "worst case", "expected",
         "binding")


def render_text(proof: BudgetProof, title: str = "") -> str:
    """The table: one line per stage and model, a total line per stage, the run's figures."""
    lines = [f"Budget proof{' of ' + title if title else ''} ({proof.currency}, exact; "
             "prices per million tokens)"]
    rows: list[tuple[str, ...]] = []
    for stage in proof.stages:
        for i, row in enumerate(stage.rows):
            rows.append((stage.stage if i == 0 else "", (stage.role or "(any)") if i == 0 else "",
                         str(stage.tokens) if i == 0 and stage.tokens is not None else ("-" if i == 0 else ""),
                         row.model + ("" if row.source == "cloud" else f" ({row.source})"),
                         "-" if row.share is None else short(row.share, 4), _call_text(row.call),
                         short(row.worst), "-" if row.share is None else short(times(row.share, row.worst)),
                         row.binding))
        rows.append(("", "", "", "", "", "stage total", short(stage.worst), short(stage.expected), ""))
    widths = [max(len(r[i]) for r in [_HEAD, *rows]) for i in range(len(_HEAD))]
    for line in [_HEAD, *rows]:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    lines.append("")
    limits = (f"; hard_limit {text(proof.hard)}" + (f", warn_threshold {text(proof.warn)}" if proof.warn is not None
                                                    else "") if proof.hard is not None else "; no cost limit")
    lines.append(f"Run: worst case {text(proof.worst)} {proof.currency} (binding: {proof.binding}); "
                 f"expected {short(proof.expected)} {proof.currency}{limits}")
    if proof.overshoot is not None:
        o = proof.overshoot
        before = f"just under {text(o.before)}" if o.before == o.warn else text(o.before)
        lines.append(f"  overshoot: {before} spent before the warning, then `{o.stage}` on `{o.model}` "
                     f"({_call_text(o.call)}) → {text(o.total)} {proof.currency}")
    lines += [f"  note: {note}" for note in proof.notes]
    return "\n".join(lines) + "\n"


def _call_text(call: Call) -> str:
    if call.input_tokens is None:
        return f"no size limit → {text(call.cost)}"
    return f"{call.input_tokens}+{call.output_tokens} → {short(call.cost)}"
