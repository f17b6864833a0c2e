"""Decision impact: what a policy change will *do* (docs/impact.md).

* :mod:`compiler.impact.prover` — the budget prover: worst-case and expected cost per stage
  and per run, in exact arithmetic, from prices, limits, budgets and routing;
* :mod:`compiler.impact.replay` — blast radius: recorded decisions (REPLAY.jsonl,
  events.jsonl, run directories, workspaces) re-evaluated under a new policy;
* shadow evaluation at run time lives in the runtime (:mod:`compiler.runtime.shadow`),
  since routers import it.

Importing this package imports nothing else; each module loads what it needs.
"""
