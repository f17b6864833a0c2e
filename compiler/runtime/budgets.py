"""Budgets of one run: token budgets per stage and the cost warn/hard limits of the policy.

Every operation is checked *before* it happens: ``charge`` (and ``reserve``) either records
the whole amount or refuses it with ``BudgetExceeded`` and records nothing but the refusal.
Check and record happen under one lock, so threads sharing a tracker never over-spend.

Rules: a stage may use at most its ``budgets.tokens`` entry (a stage without one has no token
cap); the run may spend at most ``hard_limit`` (reaching it exactly is allowed); the first time
spending reaches ``warn_threshold`` a ``BudgetWarning`` event is emitted, once. Costs are added
as decimals (``0.1`` ten times is exactly ``1``), so a limit is never crossed by rounding.

>>> t = BudgetTracker(tokens={"plan": 100}, cost={"warn_threshold": 1.0, "hard_limit": 2.0})
>>> t.charge("plan", tokens=60, cost=1.5).cost_spent
1.5
>>> [e["type"] for e in t.events]
['BudgetWarning']
>>> t.charge("plan", tokens=50)
Traceback (most recent call last):
  ...
compiler.runtime.errors.BudgetExceeded: stage `plan` would use 110 tokens, over its budget of 100 (60 used, 50 requested)
"""

from __future__ import annotations

import math
import threading
from decimal import Decimal
from typing import Any, Callable, Mapping, NamedTuple

from .errors import BudgetExceeded, BudgetUsageError, input_error, unknown_name

Sink = Callable[[dict], None]
#: Told of every charge attempt in order, under the tracker's lock: (kind, stage, tokens, amount,
#: accepted), kind "charge" (reservations included) or "settle" (the difference a settlement
#: applies). A run records them in REPLAY.jsonl so that `polc diff --replay` can re-run them.
Observer = Callable[[str, "str | None", int, Decimal, bool], None]


class Charge(NamedTuple):
    """What one accepted charge left: the totals right after it (a tuple: cheap on the hot path)."""

    stage: str | None
    tokens: int
    cost: float
    stage_tokens_used: int
    cost_spent: float


class BudgetTracker:
    """Thread-safe budget accounting for one run (see the module docstring)."""

    def __init__(self, *, tokens: Mapping[str, int], cost: Mapping[str, Any] | None, stages=(),
                 run_id: str | None = None, policy_hash: str | None = None, sink: Sink | None = None,
                 observer: Observer | None = None):
        self._limits = dict(tokens)
        self._known_stages = frozenset(self._limits) | frozenset(stages)
        self._warn = _decimal(cost.get("warn_threshold")) if cost else None
        self._hard = _decimal(cost.get("hard_limit")) if cost else None
        self.currency = (cost or {}).get("currency", "USD")
        self.run_id, self.policy_hash, self._sink, self._observer = run_id, policy_hash, sink, observer
        self._lock = threading.Lock()
        self._used: dict[str | None, int] = {}
        self._spent = Decimal(0)
        self._warned = False
        self._events: list[dict] = []

    @classmethod
    def for_snapshot(cls, snap, *, run_id: str | None = None, sink: Sink | None = None,
                     observer: Observer | None = None) -> "BudgetTracker":
        budgets = snap.data["budgets"]
        return cls(tokens=budgets.get("tokens") or {}, cost=budgets.get("cost"),
                   stages=(snap.data["routing"].get("stages") or {}), run_id=run_id,
                   policy_hash=snap.hash, sink=sink, observer=observer)

    # -- questions --------------------------------------------------------------------------------

    @property
    def events(self) -> tuple[dict, ...]:
        with self._lock:
            return tuple(self._events)

    @property
    def cost_spent(self) -> float:
        return float(self._spent)

    @property
    def spent(self) -> Decimal:
        """What the run has been charged, exactly."""
        return self._spent

    def tokens_used(self, stage: str | None = None) -> int:
        return self._used.get(stage, 0)

    def tokens_by_stage(self) -> dict[str, int]:
        """Tokens used per stage (charges without a stage under ``"null"``)."""
        with self._lock:
            return {str(stage) if stage is not None else "null": used for stage, used in self._used.items()}

    def remaining_tokens(self, stage: str) -> int | None:
        """Tokens ``stage`` may still use; None when the stage has no token budget."""
        limit = self._limits.get(stage)
        return None if limit is None else limit - self._used.get(stage, 0)

    @property
    def remaining_cost(self) -> float | None:
        return None if self._hard is None else float(self._hard - self._spent)

    # -- operations -------------------------------------------------------------------------------

    def charge(self, stage: str | None = None, *, tokens: int = 0, cost: float = 0) -> Charge:
        """Record ``tokens`` (against ``stage``) and ``cost``, or refuse both with ``BudgetExceeded``."""
        tokens, amount = self._validated(stage, tokens, cost)
        with self._lock:
            if self._observer is None:
                self._refuse_if_over(stage, tokens, amount)
                return self._record(stage, tokens, amount)
            try:
                self._refuse_if_over(stage, tokens, amount)
            except BudgetExceeded:
                self._observer("charge", stage, tokens, amount, False)
                raise
            done = self._record(stage, tokens, amount)
            self._observer("charge", stage, tokens, amount, True)
            return done

    def try_charge(self, stage: str | None = None, *, tokens: int = 0, cost: Any = 0) -> bool:
        """``charge``, answering False where ``charge`` raises ``BudgetExceeded`` (the refusal is
        recorded all the same) and building no ``Charge``: for a caller that only needs the
        verdicts of many charges (``polc diff --replay`` re-deciding a recorded run)."""
        tokens, amount = self._validated(stage, tokens, cost)
        with self._lock:
            try:
                self._refuse_if_over(stage, tokens, amount)
            except BudgetExceeded:
                if self._observer is not None:
                    self._observer("charge", stage, tokens, amount, False)
                return False
            self._add(stage, tokens, amount)
            if self._observer is not None:
                self._observer("charge", stage, tokens, amount, True)
            return True

    def refusal(self, stage: str | None = None, *, tokens: int = 0, cost: Any = 0) -> str | None:
        """Why ``charge`` would refuse this now (``"tokens"`` or ``"cost"``), or None; records nothing."""
        tokens, amount = self._validated(stage, tokens, cost)
        with self._lock:
            limit = self._limits.get(stage)
            if limit is not None and self._used.get(stage, 0) + tokens > limit:
                return "tokens"
            if self._hard is not None and self._spent + amount > self._hard:
                return "cost"
            return None

    def reserve(self, stage: str | None = None, *, tokens: int = 0, cost: float = 0) -> "Reservation":
        """Charge an estimate now; ``settle(tokens=, cost=)`` with the actual use afterwards."""
        self.charge(stage, tokens=tokens, cost=cost)
        return Reservation(self, stage, tokens, _decimal(cost))

    def _validated(self, stage: str | None, tokens: Any, cost: Any) -> tuple[int, Decimal]:
        if stage is not None and self._known_stages and stage not in self._known_stages:
            raise unknown_name("stage", stage, self._known_stages, "POLC732")
        if type(tokens) is not int or tokens < 0:
            raise input_error("POLC731", f"tokens must be a non-negative integer, got {tokens!r}",
                              "pass the number of tokens the operation uses (0 or more)", BudgetUsageError)
        if type(cost) not in (int, float, Decimal) or not math.isfinite(cost) or cost < 0:
            raise input_error("POLC731", f"cost must be a finite, non-negative number, got {cost!r}",
                              "pass the operation's cost in the policy's currency (0 or more)",
                              BudgetUsageError)
        return tokens, _decimal(cost)

    def _refuse_if_over(self, stage: str | None, tokens: int, amount: Decimal) -> None:
        limit = self._limits.get(stage)
        used = self._used.get(stage, 0)
        if limit is not None and used + tokens > limit:
            self._refuse(f"stage `{stage}` would use {used + tokens} tokens, over its budget of {limit} "
                         f"({used} used, {tokens} requested)", "tokens", stage, limit, used, tokens)
        if self._hard is not None and self._spent + amount > self._hard:
            self._refuse(f"cost would reach {self._spent + amount} {self.currency}, over the hard limit of "
                         f"{self._hard} ({self._spent} spent, {amount} requested)", "cost", stage,
                         float(self._hard), float(self._spent), float(amount))

    def _refuse(self, message: str, kind: str, stage, limit, spent, requested) -> None:
        self._emit({"type": "BudgetRefused", "kind": kind, "stage": stage, "limit": limit, "spent": spent,
                    "requested": requested, "message": message})
        raise BudgetExceeded(message, kind=kind, stage=stage, limit=limit, spent=spent, requested=requested)

    def _record(self, stage: str | None, tokens: int, amount: Decimal) -> Charge:
        self._add(stage, tokens, amount)
        return Charge(stage, tokens, float(amount), self._used[stage], float(self._spent))

    def _add(self, stage: str | None, tokens: int, amount: Decimal) -> None:
        self._used[stage] = self._used.get(stage, 0) + tokens
        self._spent += amount
        if self._warn is not None and not self._warned and self._spent >= self._warn:
            self._warned = True
            self._emit({"type": "BudgetWarning", "kind": "cost", "stage": stage, "limit": float(self._warn),
                        "spent": float(self._spent), "message": f"cost reached {self._spent} {self.currency}, "
                        f"at or above the warn threshold of {self._warn}"})

    def _adjust(self, stage: str | None, tokens: int, amount: Decimal) -> None:
        """Apply a settlement difference (may be negative); an overrun is recorded, not refused:
        the operation has already happened."""
        with self._lock:
            self._used[stage] = self._used.get(stage, 0) + tokens
            self._spent += amount
            if self._observer is not None:
                self._observer("settle", stage, tokens, amount, True)
            limit = self._limits.get(stage)
            if (limit is not None and self._used[stage] > limit) or (self._hard is not None and
                                                                   self._spent > self._hard):
                self._emit({"type": "BudgetOverrun", "stage": stage, "tokens_used": self._used[stage],
                            "spent": float(self._spent), "message": "actual use exceeded the reservation "
                            "and crossed a budget"})
            elif amount > 0:
                self._add(stage, 0, Decimal(0))  # the settlement may have reached the warn threshold

    def _emit(self, event: dict) -> None:
        event = {**event, "run_id": self.run_id, "policy_hash": self.policy_hash}
        self._events.append(event)
        if self._sink is not None:
            self._sink(event)


class Reservation:
    """An estimate charged before an operation; ``settle`` replaces it with the actual use."""

    def __init__(self, tracker: BudgetTracker, stage: str | None, tokens: int, cost: Decimal):
        self._tracker, self.stage, self.tokens, self.cost = tracker, stage, tokens, cost
        self.settled = False

    def settle(self, *, tokens: int, cost: float = 0) -> None:
        if self.settled:
            raise input_error("POLC731", "this reservation is already settled", "settle a reservation once",
                              BudgetUsageError)
        actual_tokens, actual_cost = self._tracker._validated(self.stage, tokens, cost)
        self.settled = True
        self._tracker._adjust(self.stage, actual_tokens - self.tokens, actual_cost - self.cost)

    def release(self) -> None:
        """The operation did not happen: give the whole estimate back."""
        self.settle(tokens=0, cost=0)

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc) -> None:
        # Unsettled on exit: keep the estimate charged, since a provider may have billed for it.
        self.settled = True


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    # repr() gives the shortest decimal that round-trips: the number the author wrote.
    return value if isinstance(value, Decimal) else Decimal(repr(value)) if isinstance(value, float) \
        else Decimal(value)
