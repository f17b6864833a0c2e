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

import bisect
import hashlib
from dataclasses import dataclass
from typing import Mapping, Sequence

#: Domain separation: a split hash never equals another use of sha256 over the same bytes.
_DOMAIN = b"polc-split/v1\x00"
_SCALE = float(2**64)


@dataclass(frozen=True, slots=True)
class Pick:
    """The split's choice: the model, where the key fell, and the model's interval."""

    model: str
    point: float          # where the key falls, in [0, total)
    low: float            # the chosen model's interval [low, high)
    high: float
    total: float


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


class SplitTable:
    """One role's split, built once per snapshot: intervals, reasons and reordered routes.

    ``route(candidates, key)`` costs one sha256 and one bisection; the reordered tuple for
    each (candidate list, chosen model) is built on first use and then shared.
    """

    def __init__(self, role: str, shares: Sequence[tuple[str, float]]):
        weighted = [(model, float(share)) for model, share in shares if share > 0]
        if not weighted:
            raise ValueError(f"the weights of role `{role}` sum to zero")
        self.role, self.models = role, tuple(m for m, _ in weighted)
        bounds, low = [], 0.0
        for _, share in weighted:
            low += share
            bounds.append(low)
        self.bounds, self.total = tuple(bounds), low
        self.reasons = tuple(self._reason(i) for i in range(len(weighted)))
        self._routes: dict[tuple[int, int], tuple] = {}
        self._prefix = hashlib.sha256(_DOMAIN + role.encode("utf-8") + b"\x00")  # copied per key

    def _reason(self, i: int) -> str:
        low = self.bounds[i - 1] if i else 0.0
        share = (self.bounds[i] - low) / self.total * 100
        return (f"weights.{self.role}: the key's hash falls in `{self.models[i]}`'s {share:.4g}% share "
                f"[{low / self.total:.4g}, {self.bounds[i] / self.total:.4g})")

    def unit(self, key: str | bytes | int) -> float:
        """``unit_point(role, key)``, without rehashing the role for every key. It depends on the
        role and the key only, so every policy's table for this role gives the same unit."""
        hasher = self._prefix.copy()
        hasher.update(key_bytes(key))
        return int.from_bytes(hasher.digest()[:8], "big") / _SCALE

    def point(self, key: str | bytes | int) -> float:
        """``unit_point(role, key) × total``."""
        return self.unit(key) * self.total

    def index(self, key: str | bytes | int) -> int:
        return self.index_at(self.unit(key))

    def index_at(self, unit: float) -> int:
        """The interval holding ``unit`` (a ``unit(key)``, possibly from another policy's table)."""
        return min(bisect.bisect_right(self.bounds, unit * self.total), len(self.bounds) - 1)

    def pick(self, key: str | bytes | int) -> Pick:
        i = self.index(key)
        low = self.bounds[i - 1] if i else 0.0
        return Pick(self.models[i], self.point(key), low, self.bounds[i], self.total)

    def route(self, candidates: tuple, key: str | bytes | int) -> tuple:
        """``candidates`` with the pick moved to the front of the weighted (cloud) models.

        Candidates that lead for another reason (a promoted reflex model) keep their place;
        the rest keep their order, so the others remain fallbacks.
        """
        return self.route_at(candidates, self.index(key))

    def route_at(self, candidates: tuple, i: int) -> tuple:
        """``route`` for a key that falls in interval ``i`` (``index`` or ``index_at``)."""
        slot = (id(candidates), i)
        cached = self._routes.get(slot)
        if cached is not None and cached[0] is candidates:
            return cached[1]
        routed = self._reorder(candidates, i)
        self._routes[slot] = (candidates, routed)  # holding `candidates` keeps its id unique
        return routed

    def _reorder(self, candidates: tuple, i: int) -> tuple:
        from .routing import Candidate

        chosen = self.models[i]
        weighted = [c for c in candidates if c.source == "cloud" and c.model in self.models]
        if not weighted or all(c.model != chosen for c in weighted):
            return candidates
        at = candidates.index(weighted[0])
        rest = [c for c in candidates[at:] if not (c.model == chosen and c.source == "cloud")]
        return (*candidates[:at], Candidate(chosen, "cloud", self.reasons[i]), *rest)


def split_table(role: str, weights: Mapping[str, float] | None, order: Sequence[str] = ()) -> SplitTable | None:
    """The role's SplitTable, or None when the role has no weights (routing by order).

    Intervals follow ``order`` (the role's cloud candidates), not the key order of the JSON
    object: canonical JSON sorts keys, so the stored order is not the written one.
    """
    if not weights:
        return None
    ordered = [m for m in order if m in weights] + sorted(m for m in weights if m not in order)
    return SplitTable(role, [(m, weights[m]) for m in ordered])


def pick(role: str, key: str | bytes | int, shares: Sequence[tuple[str, float]]) -> Pick:
    """The model whose interval holds the key's point; ``shares`` in candidate order."""
    return SplitTable(role, shares).pick(key)
