"""Deterministic traffic split: ``snap.route(role, key=...)`` with ``[weights.<role>]``.

The key (a request, session or user id) is hashed with sha256 together with the role, never
with Python's ``hash()`` (salted per process), so the same key picks the same model in every
process, on every machine. The first 8 bytes of the digest, read as an unsigned integer,
give a point ``u`` in [0, 1); the point ``u × total`` falls into one model's interval on the
line of cumulative weights, laid out in the role's candidate order. Zero-weight models own
an empty interval: they get no split traffic but stay in the list as fallbacks.

>>> pick("judge", "user-42", (("a", 90), ("b", 10))).model in ("a", "b")
True
>>> pick("judge", "user-42", (("a", 90), ("b", 10))) == pick("judge", "user-42", (("a", 90), ("b", 10)))
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

#: Domain separation: a split hash never equals another use of sha256 over the same bytes.
_DOMAIN = b"polc-split/v1\x00"
_SCALE = float(2**64)


@dataclass(frozen=True, slots=True)
class Pick:
    """The split's choice and why: the key's point and the chosen model's interval."""

    model: str
    point: float          # where the key falls, in [0, total)
    low: float            # the chosen model's interval [low, high)
    high: float
    total: float

    def reason(self, role: str) -> str:
        share = (self.high - self.low) / self.total * 100
        return (f"weights.{role}: key hashes to {self.point:.4f} of {self.total:g}, inside "
                f"[{self.low:g}, {self.high:g}) of `{self.model}` ({share:.4g}% of traffic)")


def key_bytes(key: str | bytes | int) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key).encode("ascii")
    raise TypeError(f"a routing key must be str, bytes or int, not {type(key).__name__}")


def unit_point(role: str, key: str | bytes | int) -> float:
    """The key's stable point in [0, 1) for ``role`` (sha256 of role and key)."""
    digest = hashlib.sha256(_DOMAIN + role.encode("utf-8") + b"\x00" + key_bytes(key)).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def pick(role: str, key: str | bytes | int, shares: Sequence[tuple[str, float]]) -> Pick:
    """The model whose interval holds the key's point; ``shares`` in candidate order."""
    total = float(sum(share for _, share in shares if share > 0))
    if total <= 0:
        raise ValueError(f"the weights of role `{role}` sum to zero")
    point = unit_point(role, key) * total
    low = 0.0
    chosen = None
    for model, share in shares:
        if share <= 0:
            continue
        high = low + share
        chosen = Pick(model, point, low, high, total)
        if point < high:
            return chosen
        low = high
    return chosen  # rounding put the point at the very end: it belongs to the last interval


def apply_split(candidates: tuple, role: str, key, weights) -> tuple:
    """``candidates`` with the split's pick moved to the front of the weighted (cloud) models.

    Candidates that lead for another reason (a promoted reflex model) keep their place; the
    rest keep their order, so the others remain fallbacks.
    """
    from .routing import Candidate

    if not weights:
        return candidates
    weighted = [c for c in candidates if c.model in weights and c.source == "cloud"]
    if not weighted:
        return candidates
    chosen = pick(role, key, [(c.model, weights[c.model]) for c in weighted])
    first = Candidate(chosen.model, "cloud", chosen.reason(role))
    at = candidates.index(weighted[0])
    rest = [c for c in candidates[at:] if c.model != chosen.model]
    return (*candidates[:at], first, *rest)
