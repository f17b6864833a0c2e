"""``check_budgets``: what the budget prover (compiler/impact/prover.py) finds, at the TOML line.

Three findings, each with its counterexample (stage, model, tokens, cost):

* POLC560 (warning) at ``budgets.tokens.<stage>``: the stage's budget is larger than the
  context window of a model routing may pick for it, so a call of that size cannot fit;
* POLC561 (error) at ``budgets.cost.hard_limit``: a run can spend more than the hard limit,
  because one call can cost more than the gap between ``warn_threshold`` and ``hard_limit``
  (the run reaches just under the warning, then makes that call);
* POLC562 (warning) at the model's ``[model_config]`` entry: a routed model has no price
  while the policy has cost limits, so its spending cannot be bounded.

Prices only count once the policy has a ``[model_config]`` block (as for the rest of it).

>>> from compiler.frontend.toml import parse_toml
>>> from compiler.sources import Source
>>> text = '''[routing.cloud]\\na = ["m"]\\n[routing.stages]\\ns = "a"\\n[capture]\\nmode = "none"
... [budgets.tokens]\\ns = 90000\\n[budgets.cost]\\nwarn_threshold = 1.0\\nhard_limit = 1.1
... [model_config.m]\\ncontext_window = 80000\\ninput_price_per_mtok = 3\\noutput_price_per_mtok = 15\\n'''
>>> doc = parse_toml(Source("model_policy.toml", None, text, "", len(text)))
>>> [(d.code, d.location()) for d in budget_findings(doc)]
[('POLC560', 'model_policy.toml:8:5'), ('POLC561', 'model_policy.toml:11:14')]
"""

from __future__ import annotations

from typing import Iterator

from ..diagnostics import Diagnostic
from ..frontend.toml import TomlDocument
from ..impact.amounts import is_number, text
from ..impact.prover import RunProof, prove_run
from ..compilation import Compilation, StageOutput, stage
from . import model_config, snapshot, weights


@stage(reads=("model_policy_valid",))
def check_budgets(c: Compilation) -> StageOutput:
    doc = c["model_policy_valid"]
    if refused_elsewhere(doc):
        return StageOutput()  # a figure from a refused value would only repeat that error
    return StageOutput({}, tuple(budget_findings(doc)))


def refused_elsewhere(doc: TomlDocument) -> bool:
    """Whether a value the prover reads is one check_catalog or check_model_policy refuses
    (a price, a limit, a weight, a budget): then the proof waits for the fix."""
    import datetime as _dt

    found = [*model_config.check_model_config(doc, _dt.date.min, 0), *weights.check_weights(doc)]
    if any(d.is_error for d in found):
        return True
    budgets = doc.data.get("budgets", {})
    cost = budgets.get("cost") or {}
    amounts = [v for v in (*budgets.get("tokens", {}).values(), cost.get("warn_threshold"), cost.get("hard_limit"))
               if v is not None]
    warn, hard = cost.get("warn_threshold"), cost.get("hard_limit")
    return any(v <= 0 for v in amounts) or (warn is not None and hard is not None and warn > hard)


def policy_blocks(data: dict) -> dict:
    """The blocks the prover reads, as the snapshot will hold them. Weights stay as written (the
    prover normalizes the shares of candidates itself), so a split check_catalog refuses (all
    zero, a non-candidate) cannot stop this stage: check_catalog reports those."""
    blocks = snapshot.normalize_model_policy(data)
    return {**blocks, "model_config": model_config.lower_model_config(data), "weights": dict(data.get("weights", {}))}


def budget_findings(doc: TomlDocument) -> Iterator[Diagnostic]:
    blocks = policy_blocks(doc.data)
    proof = prove_run(blocks)  # the run's findings; no stage's capped figures are needed here
    yield from _overflows(doc, proof, blocks["routing"].get("stages") or {})
    if proof.overshoot is not None:
        yield _overshoot(doc, proof)
    if "model_config" in doc.data and doc.data.get("budgets", {}).get("cost") is not None:
        yield from _missing_prices(doc, proof)


def _money(amount, proof: RunProof) -> str:
    return f"{text(amount)} {proof.currency}"


def _overflows(doc: TomlDocument, proof: RunProof, roles: dict[str, str]) -> Iterator[Diagnostic]:
    for o in proof.overflows:
        role = roles.get(o.stage)
        served = f"role `{role}`" if role else "any role (the stage is in no [routing.stages] entry)"
        yield Diagnostic.warning(
            "POLC560", f"stage `{o.stage}` has a token budget of {o.tokens}, more than the context window of "
                       f"`{o.model}` ({o.context_window}), which routing may pick for it ({served})",
            doc.index.value(("budgets", "tokens", o.stage)),
            notes=[f"counterexample: a `{o.stage}` call of {o.tokens} tokens on `{o.model}` cannot fit in its "
                   f"{o.context_window}-token window; the budget spent on `{o.model}` costs {_money(o.cost, proof)}",
                   f"context window: {doc.index.value(('model_config', o.model, 'context_window'))}"],
            hint=f"lower budgets.tokens.{o.stage} to at most {o.context_window}, or route `{o.stage}` to models "
                 "whose context window holds it")


def _overshoot(doc: TomlDocument, proof: RunProof) -> Diagnostic:
    o = proof.overshoot
    call = o.call
    warn_key = "warn_threshold" if proof.warn is not None else "hard_limit (no warn_threshold)"
    if is_number(call.cost):
        reach = f"just under {_money(o.warn, proof)} ({warn_key})" if o.before == o.warn else \
            f"{_money(o.before, proof)} (below {warn_key} {text(o.warn)}; the stages' budgets allow no more beside the call)"
        example = (f"counterexample: spending reaches {reach} without a warning, then one `{o.stage}` call on `{o.model}` of {call.input_tokens} input + "
                   f"{call.output_tokens} output tokens costs {_money(call.cost, proof)}: the run ends at up to "
                   f"{_money(o.total, proof)}")
        dearest = proof.max_call[2]  # the costliest single call of any stage: the gap must hold it
        room = o.hard - dearest.cost
        hint = (f"a warn_threshold of at most {text(room)} (hard_limit minus the costliest call, "
                f"{text(dearest.cost)}) stops every run in time; or " if room > 0 else
                f"the costliest call alone ({text(dearest.cost)}) costs more than hard_limit: ") + \
            f"lower budgets.tokens.{o.stage}, route `{o.stage}` to cheaper models, or raise hard_limit"
        upto = f"up to {_money(proof.worst, proof)}, over" if is_number(proof.worst) else "more than"
        message = (f"a run can spend {upto} hard_limit ({_money(o.hard, proof)}): one call can cost "
                   f"{_money(call.cost, proof)}, more than the {_money(o.hard - o.warn, proof)} between "
                   "warn_threshold and hard_limit, so the limit cannot stop it in time")
    else:
        example = (f"counterexample: a `{o.stage}` call on `{o.model}` has no size limit (no token budget for the "
                   "stage, no context window for the model), so one call can cost any amount")
        hint = f"give stage `{o.stage}` a token budget, or `{o.model}` a context_window in [model_config]"
        message = (f"a run's spending has no bound, despite hard_limit ({_money(o.hard, proof)}): one call can "
                   "cost more than any gap between warn_threshold and hard_limit")
    return Diagnostic.error("POLC561", message, doc.index.value(("budgets", "cost", "hard_limit")),
                            notes=[example], hint=hint)


def _missing_prices(doc: TomlDocument, proof: RunProof) -> Iterator[Diagnostic]:
    reported: set[str] = set()
    configs = doc.data.get("model_config", {})
    routed = model_config.routed_models(doc.data)
    for missing in proof.missing_prices:
        if missing.model in reported:
            continue
        reported.add(missing.model)
        entry = missing.model if missing.model in configs else "default" if "default" in configs else None
        span = doc.index.key(("model_config", entry)) if entry else doc.index.value(routed[missing.model]) \
            if missing.model in routed else None
        keys = " and ".join(missing.keys)
        yield Diagnostic.warning(
            "POLC562", f"model `{missing.model}` has no {keys}, but the policy has cost limits: what a run spends on "
                       "it cannot be bounded", span,
            notes=[f"counterexample: stage `{missing.stage}` may call `{missing.model}`; its cost is unknown, so "
                   f"neither the budget prover nor BudgetTracker can hold the run to hard_limit"],
            hint=f"add {keys} to [model_config.\"{missing.model}\"] (0 for a free model), or to [model_config.default]")
