"""The budget prover: the most a run can spend, and what it spends on average, exactly.

Input: the policy blocks as the snapshot holds them (``routing``, ``budgets``,
``model_config``, ``weights``). Output: a :class:`BudgetProof`, every figure a Fraction
(or ``unbounded`` / ``unknown``, see :mod:`compiler.impact.amounts`) that can be recomputed
by hand from the policy.

The model of a run (docs/impact.md explains it with the example):

* Every call is made in a stage (``budgets.tokens`` / ``routing.stages``) on a model the
  router may pick for it: the stage's role's cloud candidates, its fallbacks, and the reflex
  model when reflex is enabled for the role (its gate may pass). A stage bound to no role
  may be served by any routed model.
* A call fits the stage's remaining token budget (``BudgetTracker`` refuses the rest), the
  model's context window and ``max_output_tokens``. It costs ``input × input_price +
  output × output_price`` (prices per million tokens).
* So the costliest single call of stage *s* on model *m* takes ``T = min(budget_s,
  context_window_m)`` tokens, as many of them output as ``max_output_tokens`` allows when
  output is the dearer side (all input otherwise); and stage *s* on model *m* spends at most
  ``budget_s × max(input_price, output_price)`` over the whole run (many calls).
* A call is charged after it returns; once spending reaches ``warn_threshold`` (the
  ``BudgetWarning``), a router starts only calls whose maximum cost fits the remaining
  budget. Before the warning nothing stops a call, so a run can spend up to just under
  ``warn_threshold`` (no threshold: up to ``hard_limit``) and then make one more call.

Hence, with ``S`` the sum over stages of their costliest model's full budget: without cost
limits the worst case per run is ``S``; with them it is ``min(S, hard_limit)``, unless an
*overshoot* exists: a call of ``t`` tokens of stage *s* on model *m*, made after spending
``P = min(warn_threshold, S - t × q_s)`` (``q_s``: the stage's dearest price per token, since
those ``t`` tokens cannot also be spent before), such that ``P + cost(t) > hard_limit``.
The dearest such call has ``t = min(T, (S - warn_threshold) / q_s)``, and the worst case is
then its ``P + cost(t)``. Expected: each model's worst case weighted by its share of the
role's traffic (``[weights.<role>]``, else the first cloud candidate takes it all; the reflex
model is counted in the worst case only, since its gate is not assumed to pass).

>>> policy = {"routing": {"cloud": {"a": ["m"]}, "stages": {"s": "a"}},
...           "budgets": {"tokens": {"s": 1000}, "cost": {"warn_threshold": 1.0, "hard_limit": 2.0}},
...           "model_config": {"m": {"input_price_per_mtok": 3.0, "output_price_per_mtok": 15.0,
...                                  "context_window": 200000, "max_output_tokens": 800}}}
>>> proof = prove(policy)
>>> [(r.model, r.call.input_tokens, r.call.output_tokens, text(r.call.cost), text(r.worst)) for r in proof.rows]
[('m', 200, 800, '0.0126', '0.015')]
>>> text(proof.worst), proof.binding
('0.015', 'budgets.tokens')
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from fractions import Fraction
from typing import Any, Mapping

from .amounts import UNBOUNDED, UNKNOWN, Amount, exact, is_number, least, most, text, times, total

MTOK = 1_000_000


@dataclass(frozen=True)
class Call:
    """The costliest single call of a stage on a model (tokens None: no limit bounds it)."""

    input_tokens: int | None
    output_tokens: int | None
    cost: Amount
    limit: str                      # what caps its size: the stage's budget or the context window


@dataclass(frozen=True)
class Row:
    """One model a stage may be served by, with its figures."""

    stage: str
    role: str | None
    model: str
    source: str                     # cloud | fallback | reflex
    share: Fraction | None          # of the stage's traffic in expectation; None: the stage has no role
    input_price: Fraction | None    # per million tokens
    output_price: Fraction | None
    context_window: int | None
    max_output_tokens: int | None
    call: Call
    full_budget: Amount             # the stage's whole token budget spent on this model
    worst: Amount                   # the same, capped by the run's worst case
    binding: str

    def capped(self, worst: Amount, binding: str) -> Row:
        """This row with the run's cap applied (``dataclasses.replace`` costs twice as much, per row of
        every stage)."""
        return Row(self.stage, self.role, self.model, self.source, self.share, self.input_price, self.output_price,
                   self.context_window, self.max_output_tokens, self.call, self.full_budget, worst, binding)


@dataclass(frozen=True)
class StageProof:
    stage: str
    role: str | None
    tokens: int | None              # budgets.tokens.<stage>; None: no token budget
    rows: tuple[Row, ...]
    worst: Amount
    expected: Amount
    binding: str


@dataclass(frozen=True)
class Overshoot:
    """The counterexample to ``hard_limit``: spend ``before`` without a warning, then one call."""

    stage: str
    model: str
    call: Call
    before: Fraction                # spent before the call (at most just under warn_threshold)
    warn: Fraction                  # warn_threshold (hard_limit when there is none)
    hard: Fraction

    @property
    def total(self) -> Amount:
        return self.before + self.call.cost if is_number(self.call.cost) else UNBOUNDED


@dataclass(frozen=True)
class ContextOverflow:
    stage: str
    model: str
    tokens: int                     # the stage's budget
    context_window: int
    cost: Amount                    # the budget's cost on that model


@dataclass(frozen=True)
class MissingPrice:
    stage: str
    model: str
    keys: tuple[str, ...]           # the price settings that are not configured


@dataclass(frozen=True)
class RunProof:
    """The run-level figures and findings: what ``polc check`` reports (compiler/passes/budget_proof.py).
    Each stage's capped figures are left to :func:`prove`, which costs as much again per stage."""

    currency: str
    stages_total: Amount            # S: every stage's budget at its costliest model
    max_call: tuple[str, str, Call] | None   # (stage, model, call) of the costliest single call
    worst: Amount
    binding: str
    warn: Fraction | None = None
    hard: Fraction | None = None
    overshoot: Overshoot | None = None
    overflows: tuple[ContextOverflow, ...] = ()
    missing_prices: tuple[MissingPrice, ...] = ()
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class BudgetProof(RunProof):
    stages: tuple[StageProof, ...] = ()
    expected: Amount = Fraction(0)

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(r for s in self.stages for r in s.rows)

    def stage(self, name: str) -> StageProof | None:
        return self._by_stage.get(name)

    @cached_property
    def _by_stage(self) -> dict[str, StageProof]:
        return {s.stage: s for s in self.stages}


def prove(policy: Mapping[str, Any]) -> BudgetProof:
    """The budget proof of a policy given as snapshot blocks (see the module docstring)."""
    run, stage_rows = _prove_run(policy)
    routing = policy.get("routing") or {}
    bound = dict(routing.get("stages") or {})
    tokens = dict((policy.get("budgets") or {}).get("tokens") or {})
    # Each role's first picks, once per distinct split: a stage bound to no role takes the dearest,
    # and with thousands of roles that share a few models, one per role would make it stages × roles.
    first_picks = list({tuple(shares.items()): shares for shares in
                        (role_shares(role, routing, {}) for role in routing.get("cloud") or {})}.values())
    stages = tuple(_stage_proof(s, bound.get(s), tokens.get(s), rows, run.worst, run.binding, first_picks)
                   for s, rows in stage_rows.items())
    expected = least(total(s.expected for s in stages), run.worst) if stages else Fraction(0)
    return BudgetProof(**vars(run), stages=stages, expected=expected)


def prove_run(policy: Mapping[str, Any]) -> RunProof:
    """The run-level part of :func:`prove`, without the per-stage figures."""
    return _prove_run(policy)[0]


def _prove_run(policy: Mapping[str, Any]) -> tuple[RunProof, dict[str, list[Row]]]:
    """The run's figures, and each stage's rows (stages in name order) before the run's cap."""
    routing = policy.get("routing") or {}
    budgets = policy.get("budgets") or {}
    tokens = dict(budgets.get("tokens") or {})
    cost = budgets.get("cost")
    configs = policy.get("model_config") or {}
    bound = dict(routing.get("stages") or {})
    names = sorted(set(tokens) | set(bound))
    routes = {role: (candidates(role, routing), role_shares(role, routing, policy.get("weights") or {}))
              for role in routing.get("cloud") or {}}
    figures = {model: _figures(configs, model) for models, _ in routes.values() for model, _ in models}
    any_role = _any_role(routes)
    stage_rows = {s: _rows(s, bound.get(s), tokens.get(s), routes, any_role, figures) for s in names}
    stages_total = total(most(*(r.full_budget for r in rows)) for rows in stage_rows.values())
    calls = [(r.stage, r.model, r.call) for rows in stage_rows.values() for r in rows]
    warn, hard = (exact(cost.get("warn_threshold")), exact(cost.get("hard_limit"))) if cost else (None, None)
    overshoot = None
    if hard is None:
        worst = stages_total
    else:
        reachable = total(_known_most(rows) for rows in stage_rows.values())  # what priced models can spend
        overshoot = _overshoot(stage_rows, reachable, warn if warn is not None else hard, hard)
        worst = least(stages_total, hard) if overshoot is None else overshoot.total
        if any(r.full_budget == UNKNOWN for rows in stage_rows.values() for r in rows):
            worst = UNKNOWN  # an unpriced call is not even charged correctly: nothing holds
    run = RunProof(
        currency=(cost or {}).get("currency") or "USD", stages_total=stages_total, max_call=_costliest(calls),
        worst=worst, binding=_run_binding(stages_total, hard, worst, overshoot, tokens, bound), warn=warn,
        hard=hard, overshoot=overshoot, overflows=tuple(_overflows(stage_rows, tokens)),
        missing_prices=tuple(_missing_prices(stage_rows)), notes=tuple(_notes(names, bound, tokens, routing)))
    return run, stage_rows


# -- one stage ------------------------------------------------------------------------------------

def _rows(stage: str, role: str | None, budget: int | None, routes: Mapping, any_role: list[tuple[str, str]],
          figures: Mapping) -> list[Row]:
    """The rows of one stage. ``routes`` holds each role's candidates and shares, ``any_role`` the
    models of a stage bound to no role, ``figures`` each candidate's prices and limits (all computed
    once per policy, not once per stage)."""
    if role is None:
        return [_row(stage, None, model, source, None, budget, figures[model]) for model, source in any_role]
    if role not in routes:
        return []  # a stage bound to an undefined role: the model_policy checks report it
    models, shares = routes[role]
    return [_row(stage, role, model, source, shares.get(model, Fraction(0)), budget, figures[model])
            for model, source in models]


def _any_role(routes: Mapping) -> list[tuple[str, str]]:
    """Every model any role may pick, each once with its source for the first role (in route order)."""
    seen: dict[str, str] = {}
    for models, _ in routes.values():
        for model, source in models:
            seen.setdefault(model, source)
    return list(seen.items())


def candidates(role: str, routing: Mapping) -> list[tuple[str, str]]:
    """Every model the router may pick for ``role``, in route order, with its source."""
    out: list[tuple[str, str]] = []
    reflex = routing.get("reflex") or {}
    eligible = reflex.get("enabled") and reflex.get("model") and \
        (reflex.get("roles") is None or role in reflex.get("roles"))
    if eligible:
        out.append((reflex["model"], "reflex"))
    for table, source in (("cloud", "cloud"), ("fallback", "fallback")):
        for model in (routing.get(table) or {}).get(role, ()):
            if all(model != m for m, _ in out):
                out.append((model, source))
    return out


def role_shares(role: str, routing: Mapping, weights: Mapping) -> dict[str, Fraction]:
    """Each model's share of ``role``'s first picks: the weights, else the first cloud model."""
    cloud = list((routing.get("cloud") or {}).get(role, ()))
    split = weights.get(role)
    if split:
        exact_shares = {m: exact(w) for m, w in split.items() if m in cloud and exact(w) and exact(w) > 0}
        whole = sum(exact_shares.values(), Fraction(0))
        if whole > 0:
            return {m: share / whole for m, share in exact_shares.items()}
    return {cloud[0]: Fraction(1)} if cloud else {}


def _figures(configs: Mapping, model: str) -> tuple:
    """``(input_price, output_price, context_window, max_output_tokens)`` of ``model`` (its entry, else
    ``default``), prices exact."""
    entry = configs.get(model)
    config = entry if entry is not None else (configs.get("default") or {})
    return (exact(config.get("input_price_per_mtok")), exact(config.get("output_price_per_mtok")),
            config.get("context_window"), config.get("max_output_tokens"))


def _row(stage, role, model, source, share, budget, figures) -> Row:
    price_in, price_out, window, output = figures
    call = _costliest_call(stage, model, budget, window, output, price_in, price_out)
    if price_in is None or price_out is None:
        full: Amount = UNKNOWN
    elif max(price_in, price_out) == 0:
        full = Fraction(0)
    else:
        full = UNBOUNDED if budget is None else budget * max(price_in, price_out) / MTOK
    return Row(stage, role, model, source, share, price_in, price_out, window, output, call, full, full, "")


def _costliest_call(stage, model, budget, window, output, price_in, price_out) -> Call:
    if budget is None and window is None:
        cost_known = price_in is not None and price_out is not None
        free = cost_known and max(price_in, price_out) == 0
        return Call(None, None, Fraction(0) if free else (UNBOUNDED if cost_known else UNKNOWN), "none")
    if window is None or (budget is not None and budget <= window):  # the budget, when the two are equal
        size, limit = budget, f"budgets.tokens.{stage}"
    else:
        size, limit = window, f"model_config.{model}.context_window"
    out = _output_tokens(size, output, price_in, price_out)
    if out and output is not None and output < size:
        limit += f", model_config.{model}.max_output_tokens"
    return call_of_size(size, output, price_in, price_out, limit)


def call_of_size(size: int, max_output: int | None, price_in, price_out, limit: str = "") -> Call:
    """The costliest call of ``size`` tokens: output first when output is the dearer side."""
    out = _output_tokens(size, max_output, price_in, price_out)
    cost = UNKNOWN if price_in is None or price_out is None else ((size - out) * price_in + out * price_out) / MTOK
    return Call(size - out, out, cost, limit)


def _output_tokens(size: int, max_output: int | None, price_in, price_out) -> int:
    if price_in is not None and price_out is not None and price_in > price_out:
        return 0
    return size if max_output is None else min(max_output, size)


def _stage_proof(stage, role, budget, rows, worst, run_binding, first_picks) -> StageProof:
    capped = []
    for row in rows:
        full = row.full_budget
        within = is_number(full) and (not is_number(worst) or full <= worst)
        binding = (f"budgets.tokens.{stage}" if within else run_binding) if full != UNKNOWN else "no price"
        capped.append(row.capped(least(full, worst) if full != UNKNOWN else UNKNOWN, binding))
    stage_worst = most(*(r.worst for r in capped)) if capped else Fraction(0)
    if role is not None:
        expected = total(times(r.share or Fraction(0), r.worst) for r in capped)
    else:  # any role may serve it: the dearest role's expectation
        by_model = {r.model: r.worst for r in capped}
        per_role = [total(times(share, by_model.get(m, UNKNOWN)) for m, share in shares.items())
                    for shares in first_picks]  # each role's first picks (weights are not consulted here)
        expected = most(*per_role) if per_role else Fraction(0)
    binding = next((r.binding for r in capped if r.worst == stage_worst), run_binding) if capped else "no models"
    return StageProof(stage, role, budget, tuple(capped), stage_worst, expected, binding)


# -- the whole run --------------------------------------------------------------------------------

def _costliest(calls: list[tuple[str, str, Call]]) -> tuple[str, str, Call] | None:
    """The call without a bound, else the dearest priced one (the first of equals); None if none."""
    for item in calls:
        if item[2].cost == UNBOUNDED:
            return item
    priced = [item for item in calls if is_number(item[2].cost)]
    return max(priced, key=lambda item: item[2].cost) if priced else None


def _known_most(rows: list[Row]) -> Amount:
    """The stage's dearest full budget among priced models (what priced models alone can spend)."""
    return most(*(r.full_budget for r in rows if r.full_budget != UNKNOWN))


def _overshoot(stage_rows, reachable: Amount, threshold: Fraction, hard: Fraction) -> Overshoot | None:
    """The dearest realizable call that ends a run above ``hard_limit``, or None (module docstring)."""
    found = [candidate for rows in stage_rows.values() for dearest in (_dearest_price(rows),) for row in rows
             if row.full_budget != UNKNOWN for candidate in _overshoot_calls(row, reachable, dearest, threshold)
             if candidate.total == UNBOUNDED or candidate.total > hard]
    if not found:
        return None
    best = max(found, key=lambda o: (1, 0) if o.total == UNBOUNDED else (0, o.total))  # the first of equals
    return replace(best, hard=hard)


def _dearest_price(rows: list[Row]) -> Fraction:
    """q: the stage's dearest price per token among priced models."""
    return max((max(r.input_price, r.output_price) / MTOK for r in rows if r.full_budget != UNKNOWN),
               default=Fraction(0))


def _overshoot_calls(row: Row, reachable: Amount, dearest: Fraction, threshold: Fraction):
    """The calls of ``row`` that may end a run highest: of size ``t*`` (module docstring) or ``T``."""
    if row.call.cost == UNBOUNDED:
        yield Overshoot(row.stage, row.model, row.call, threshold, threshold, threshold)
        return
    if row.call.input_tokens is None:
        return  # a free model without size limits: its calls cost nothing
    size = row.call.input_tokens + row.call.output_tokens
    sizes = {size}
    if is_number(reachable) and dearest > 0:
        pivot = (reachable - threshold) / dearest
        sizes |= {min(max(int(pivot), 0), size), min(max(-(-pivot.numerator // pivot.denominator), 0), size)}
    for t in sorted(sizes):
        call = call_of_size(t, row.max_output_tokens, row.input_price, row.output_price, row.call.limit)
        before = threshold if not is_number(reachable) else min(threshold, reachable - t * dearest)
        if before >= 0:
            yield Overshoot(row.stage, row.model, call, before, threshold, threshold)


def _run_binding(stages_total, hard, worst, overshoot, tokens, bound) -> str:
    if worst == UNKNOWN:
        return "no price"
    if worst == UNBOUNDED:
        unbudgeted = [s for s in bound if s not in tokens]
        return ("none: no cost limit, and stage(s) " + ", ".join(unbudgeted) + " have no token budget"
                if unbudgeted and hard is None else "none: a call has no size limit")
    if overshoot is not None:
        return "budgets.cost.warn_threshold + one call (overshoot)"
    if is_number(stages_total) and stages_total == worst:
        return "budgets.tokens"
    return "budgets.cost.hard_limit"


def _overflows(stage_rows, tokens):
    for stage, rows in stage_rows.items():
        for row in rows:
            budget = tokens.get(stage)
            if budget is not None and row.context_window is not None and budget > row.context_window:
                yield ContextOverflow(stage, row.model, budget, row.context_window, row.full_budget)


def _missing_prices(stage_rows):
    for rows in stage_rows.values():
        for row in rows:
            if row.input_price is None or row.output_price is None:
                keys = tuple(k for k, v in (("input_price_per_mtok", row.input_price),
                                            ("output_price_per_mtok", row.output_price)) if v is None)
                yield MissingPrice(row.stage, row.model, keys)


def _notes(names, bound, tokens, routing) -> list[str]:
    notes = []
    unbound = [s for s in names if s not in bound]
    if unbound and routing.get("cloud"):
        notes.append("stage(s) " + ", ".join(unbound) + " are bound to no role in [routing.stages]: any routed "
                     "model may serve them; their expected cost is the dearest role's")
    reflex = routing.get("reflex") or {}
    if reflex.get("enabled") and reflex.get("model"):
        notes.append(f"reflex model `{reflex['model']}` counts in the worst case (its gate may pass) but not in "
                     "the expected cost")
    return notes


def summary(proof: BudgetProof) -> dict[str, Any]:
    """The run-level figures as exact text (for reports and drift rules)."""
    return {"currency": proof.currency, "worst_case": text(proof.worst), "expected": text(proof.expected),
            "binding": proof.binding, "stages": {s.stage: text(s.worst) for s in proof.stages}}
