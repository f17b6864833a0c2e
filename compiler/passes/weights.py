"""``[weights.<role>]``: how a role's traffic splits among its candidates, checked and lowered.

A weight is a non-negative share (any scale: 90/10 and 0.9/0.1 mean the same); it may name
only the role's own candidates (``routing.cloud.<role>``); the shares must not all be zero.
A candidate without a weight gets no traffic from the split (a warning: write ``= 0`` to
say so) but stays in the role's list as a fallback.

In the snapshot each role's shares are normalized to fractions of 1, in candidate order, so
equal meaning gives equal bytes (90/10 and 9/1 build the same snapshot) and a review reads
shifts directly as shares of traffic.

>>> data = {"routing": {"cloud": {"judge": ["a", "b"]}}, "weights": {"judge": {"b": 1, "a": 3}}}
>>> lower_weights(data)
{'judge': {'a': 0.75, 'b': 0.25}}
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

from ..diagnostics import Diagnostic, did_you_mean
from ..frontend.toml import TomlDocument


def check_weights(doc: TomlDocument) -> Iterator[Diagnostic]:
    roles = doc.data.get("routing", {}).get("cloud", {})
    for role, shares in doc.data.get("weights", {}).items():
        if role not in roles:
            yield Diagnostic.error("POLC520", f"weights for undefined role `{role}`", doc.index.key(("weights", role)),
                                   hint=did_you_mean(role, roles) or "declare the role in [routing.cloud] first")
            continue
        yield from _check_role(doc, role, roles[role], shares)


def _check_role(doc: TomlDocument, role: str, candidates: list, shares: dict) -> Iterator[Diagnostic]:
    path = ("weights", role)
    for model, share in shares.items():
        if model not in candidates:
            yield Diagnostic.error(
                "POLC521", f"weight for `{model}`, which is not a candidate of role `{role}`",
                doc.index.key(path + (model,)),
                hint=(did_you_mean(model, candidates) or "") + f"; add it to routing.cloud.{role} to give it traffic")
        elif share < 0:
            yield Diagnostic.error("POLC522", f"weight of `{model}` in role `{role}` is {share}; weights cannot be "
                                   "negative", doc.index.value(path + (model,)),
                                   hint="use 0 to keep the model as a fallback that gets no split traffic")
    if not any(share > 0 for model, share in shares.items() if model in candidates):
        yield Diagnostic.error("POLC523", f"the weights of role `{role}` sum to zero, so no model can be picked",
                               doc.index.key(path), hint="give at least one candidate a positive weight, or "
                                                         "remove [weights." + role + "] to route by order")
    else:
        for model in candidates:
            if model not in shares:
                yield Diagnostic.warning(
                    "POLC524", f"candidate `{model}` of role `{role}` has no weight and gets no split traffic",
                    doc.index.key(path), hint=f"write `\"{model}\" = 0` to make that explicit, or give it a share")


def lower_weights(data: dict) -> dict[str, dict]:
    """Role → model → fraction of the role's traffic, in candidate order (the order the split uses)."""
    roles = data.get("routing", {}).get("cloud", {})
    out = {}
    for role, shares in data.get("weights", {}).items():
        # Exact rationals: 90/100 is the double nearest 0.9, and 1e308 + 1e308 does not overflow.
        exact = {model: Fraction(share) for model, share in shares.items()}
        total = sum(exact.values())
        out[role] = {model: float(exact[model] / total) for model in roles.get(role, ()) if model in shares}
    return out
